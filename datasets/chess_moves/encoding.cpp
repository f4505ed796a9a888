// The move vocabulary and the two position encodings.
// SPDX-License-Identifier: Apache-2.0
#include "encoding.hpp"

#include <grokkit/chess/attacks.hpp>
#include <grokkit/chess/notation.hpp>

#include <algorithm>

namespace chess_moves {

namespace gc = grokkit::chess;

move_vocabulary::move_vocabulary() {
    m_plain.fill(-1);
    m_promotion.fill(-1);
    for (int from = 0; from < 64; ++from) {
        const auto s = gc::square(from);
        gc::bitboard to = gc::queen_attacks(s, 0) | gc::knight_attacks(s);
        while (to) {
            const gc::square t = gc::pop_lsb(to);
            m_plain[std::size_t(from * 64 + t)] = std::int16_t(m_moves.size());
            m_moves.push_back({std::uint8_t(from), std::uint8_t(t), 0});
        }
    }
    for (int from = 0; from < 64; ++from) {
        const auto s = gc::square(from);
        const int rank = gc::rank_of(s);
        if (rank != 6 && rank != 1)
            continue;
        const int step = rank == 6 ? 8 : -8;
        for (const int side : {-1, 0, 1}) {
            const int file = gc::file_of(s) + side;
            if (file < 0 || file > 7)
                continue;
            const int t = from + step + side;
            for (int piece = 0; piece < 4; ++piece) {
                m_promotion[std::size_t((from * 64 + t) * 4 + piece)] =
                    std::int16_t(m_moves.size());
                m_moves.push_back({std::uint8_t(from), std::uint8_t(t), std::uint8_t(piece + 1)});
            }
        }
    }
}

std::int32_t move_vocabulary::index(gc::move m) const {
    const std::size_t at = std::size_t(m.from()) * 64 + m.to();
    if (m.kind() == gc::move_kind::promotion)
        return m_promotion[at * 4 + std::size_t(m.promotion() - gc::knight)];
    return m_plain[at];
}

std::string move_vocabulary::uci(std::size_t index) const {
    const auto& e = m_moves[index];
    std::string s = gc::square_name(gc::square(e[0])) + gc::square_name(gc::square(e[1]));
    if (e[2])
        s += "nbrq"[e[2] - 1];
    return s;
}

std::vector<std::int64_t> move_vocabulary::table() const {
    std::vector<std::int64_t> out;
    for (const auto& e : m_moves)
        out.insert(out.end(), {e[0], e[1], e[2]});
    return out;
}

void encode_tokens(const gc::position& pos, std::int32_t* out) {
    for (int s = 0; s < 64; ++s) {
        const gc::piece p = pos.at(gc::square(s));
        out[s] = p == gc::no_piece ? 0 : 1 + gc::type_of(p) + 6 * gc::color_of(p);
    }
    out[64] = 13 + pos.side_to_move();
    out[65] = 15 + pos.castling_rights();
    out[66] = pos.en_passant() == gc::no_square ? 31 : 32 + gc::file_of(pos.en_passant());
}

std::vector<std::string> token_names() {
    std::vector<std::string> names;
    for (int s = 0; s < 64; ++s)
        names.push_back(gc::square_name(gc::square(s)));
    names.insert(names.end(), {"side", "castling", "en_passant"});
    return names;
}

void encode_planes(const gc::position& pos, float* out) {
    std::fill(out, out + n_plane_features, 0.0f);
    for (int s = 0; s < 64; ++s) {
        const gc::piece p = pos.at(gc::square(s));
        if (p != gc::no_piece)
            out[(gc::type_of(p) + 6 * gc::color_of(p)) * 64 + s] = 1.0f;
    }
    float* rest = out + 12 * 64;
    rest[0] = pos.side_to_move() == gc::white ? 1.0f : 0.0f;
    for (int r = 0; r < 4; ++r)
        rest[1 + r] = (pos.castling_rights() >> r) & 1 ? 1.0f : 0.0f;
    if (pos.en_passant() != gc::no_square)
        rest[5 + gc::file_of(pos.en_passant())] = 1.0f;
}

} // namespace chess_moves
