// The chess_moves plugin's one exported entry: glue only.
// SPDX-License-Identifier: Apache-2.0
#include "chess_moves.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(chess_moves::dataset_impl, "chess_moves", "0.1.0",
                      grokkit::plugin_kind::dataset,
                      "positions of chess games and the move played, legal moves as the mask")
