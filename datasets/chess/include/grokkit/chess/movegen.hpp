// Legal move generation, counting and perft.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/position.hpp>

#include <array>
#include <cstddef>
#include <vector>

namespace grokkit::chess {

/// The legal moves of one position, in a fixed array. Reachable positions have at most 218;
/// the capacity covers every position position::from_fen accepts: with at most 16 pieces a
/// side and no more promoted pieces than missing pawns, 9 queens (27 moves each), 2 rooks (14),
/// 2 bishops (13), 2 knights (8) and a king (8) make at most 321.
class move_list {
  public:
    const move* begin() const { return m_moves.data(); }
    const move* end() const { return m_moves.data() + m_size; }
    std::size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    move operator[](std::size_t i) const { return m_moves[i]; }
    bool contains(move m) const;

    void clear() { m_size = 0; }
    void push(move m) { m_moves[m_size++] = m; }

  private:
    static constexpr std::size_t capacity = 321;
    std::array<move, capacity> m_moves;
    std::size_t m_size = 0;
};

/// Every legal move of `pos`: pins, checks, double check, castling through attacked squares
/// and en passant captures that would expose the king are all excluded.
void generate_legal(const position& pos, move_list& moves);
move_list legal_moves(const position& pos);
/// The number of legal moves, without listing them (perft's last ply).
int count_legal(const position& pos);

/// The number of move sequences of length `depth` from `pos` (leaves counted in bulk at the
/// last ply). `pos` is returned unchanged.
std::uint64_t perft(position& pos, int depth);

struct perft_entry {
    move first;
    std::uint64_t leaves;
};
/// perft(depth - 1) after each legal move, in generation order.
std::vector<perft_entry> perft_divide(position& pos, int depth);

} // namespace grokkit::chess
