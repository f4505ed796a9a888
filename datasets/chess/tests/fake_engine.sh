#!/bin/sh
# A UCI "engine" that completes the handshake and then never answers a search: the hang test.
# SPDX-License-Identifier: Apache-2.0
while read -r line; do
    case "$line" in
    uci) echo "id name Hanging Engine"; echo "option name Hash type spin default 16 min 1 max 64"; echo "uciok" ;;
    isready) echo "readyok" ;;
    quit) exit 0 ;;
    esac
done
