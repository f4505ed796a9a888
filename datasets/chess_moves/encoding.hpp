// How chess_moves hands positions and moves to models: a fixed move vocabulary, and a position
// as square tokens (for the transformer) or planes of dense features (for the MLP).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/position.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace chess_moves {

/// The move vocabulary, fixed for every run: first every (from, to) of a queen or knight move
/// on an empty board (1,792; castling is the king's two-square move, en passant the pawn's
/// diagonal step), then every promotion, a pawn's step from the seventh rank to the eighth or the
/// second to the first (straight or diagonal) to a knight, bishop, rook or queen (176): 1,968
/// classes. Each part is in order of from-square, then to-square, then piece (a1 = 0, h8 = 63).
class move_vocabulary {
  public:
    move_vocabulary();
    std::size_t size() const { return m_moves.size(); }
    /// The class of a move (every legal move has one).
    std::int32_t index(grokkit::chess::move m) const;
    /// "e2e4", "e7e8q".
    std::string uci(std::size_t index) const;
    /// (from, to, promotion) per class, promotion 0 for none and 1-4 for knight..queen.
    std::vector<std::int64_t> table() const;

  private:
    std::vector<std::array<std::uint8_t, 3>> m_moves;
    std::array<std::int16_t, 64 * 64> m_plain{};
    std::array<std::int16_t, 64 * 64 * 4> m_promotion{};
};

/// A position as 67 tokens: squares a1..h8 (0 empty, 1-6 white pawn..king, 7-12 black pawn..
/// king), then the side to move (13 white, 14 black), the castling rights (15 + KQkq bits, 15-30)
/// and the en passant file (31 none, 32-39 files a-h). Vocabulary 40.
inline constexpr std::size_t n_position_tokens = 67;
inline constexpr std::size_t position_vocabulary = 40;
void encode_tokens(const grokkit::chess::position& pos, std::int32_t* out);
std::vector<std::string> token_names();

/// A position as 781 dense features: 12 planes of 64 squares (white pawn..king, black pawn..king;
/// 1 where the piece stands), then 1 for white to move, the four castling rights (K, Q, k, q),
/// and the en passant file one-hot (8).
inline constexpr std::size_t n_plane_features = 12 * 64 + 1 + 4 + 8;
void encode_planes(const grokkit::chess::position& pos, float* out);

} // namespace chess_moves
