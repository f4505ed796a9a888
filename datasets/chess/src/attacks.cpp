// Builds the attack tables, finding each square's slider magic by a seeded search.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/chess/attacks.hpp>

#include <array>
#include <stdexcept>
#include <vector>

namespace grokkit::chess::detail {

constinit attack_tables tables{};
constinit unsigned magic_searches = 0;

namespace {

struct step {
    int file;
    int rank;
};
constexpr std::array<step, 4> rook_steps{{{1, 0}, {-1, 0}, {0, 1}, {0, -1}}};
constexpr std::array<step, 4> bishop_steps{{{1, 1}, {1, -1}, {-1, 1}, {-1, -1}}};

bool on_board(int file, int rank) {
    return file >= 0 && file < 8 && rank >= 0 && rank < 8;
}

/// The squares reached from `s` along `steps`, each ray stopping at the first occupied square.
bitboard slide(square s, bitboard occupied, const std::array<step, 4>& steps) {
    bitboard attacks = 0;
    for (const step d : steps) {
        int f = file_of(s) + d.file, r = rank_of(s) + d.rank;
        for (; on_board(f, r); f += d.file, r += d.rank) {
            attacks |= square_bb(make_square(f, r));
            if (occupied & square_bb(make_square(f, r)))
                break;
        }
    }
    return attacks;
}

/// The squares whose occupancy changes a slider's attacks: each ray without its last square.
bitboard relevant_mask(square s, const std::array<step, 4>& steps) {
    bitboard mask = 0;
    for (const step d : steps) {
        int f = file_of(s) + d.file, r = rank_of(s) + d.rank;
        for (; on_board(f + d.file, r + d.rank); f += d.file, r += d.rank)
            mask |= square_bb(make_square(f, r));
    }
    return mask;
}

bitboard leaper(square s, std::initializer_list<step> steps) {
    bitboard b = 0;
    for (const step d : steps)
        if (on_board(file_of(s) + d.file, rank_of(s) + d.rank))
            b |= square_bb(make_square(file_of(s) + d.file, rank_of(s) + d.rank));
    return b;
}

/// xorshift64*: a fixed sequence, so every build finds the same magics.
struct magic_rng {
    std::uint64_t state;
    std::uint64_t next() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 2685821657736338717ULL;
    }
    /// Factors with few bits set find a magic much sooner.
    std::uint64_t sparse() { return next() & next() & next(); }
};

/// Whether `factor` maps every occupancy to an index holding its attacks (indices may collide
/// only where the attacks agree); fills `table` as it checks.
bool fill_table(const magic_entry& entry, bitboard factor, const std::vector<bitboard>& occupancies,
                const std::vector<bitboard>& attacks, std::vector<unsigned>& filled_in,
                unsigned attempt, bitboard* table) {
    for (std::size_t i = 0; i < occupancies.size(); ++i) {
        const std::size_t index = (occupancies[i] * factor) >> entry.shift;
        if (filled_in[index] != attempt) {
            filled_in[index] = attempt;
            table[index] = attacks[i];
        } else if (table[index] != attacks[i]) {
            return false;
        }
    }
    return true;
}

/// Sets `entry.factor` and fills `table`: the recorded factor when it works (it always should),
/// else the first that works from a seeded search of sparse random numbers.
void find_magic(square s, magic_entry& entry, bitboard recorded, bitboard* table,
                const std::array<step, 4>& steps, magic_rng& rng) {
    std::vector<bitboard> occupancies, attacks;
    bitboard occupied = 0;
    do { // every subset of the mask (Carry-Rippler enumeration)
        occupancies.push_back(occupied);
        attacks.push_back(slide(s, occupied, steps));
        occupied = (occupied - entry.mask) & entry.mask;
    } while (occupied);

    std::vector<unsigned> filled_in(occupancies.size(), 0);
    if (fill_table(entry, recorded, occupancies, attacks, filled_in, 1, table)) {
        entry.factor = recorded;
        return;
    }
    ++magic_searches;
    for (unsigned attempt = 2;; ++attempt) {
        const bitboard factor = rng.sparse();
        if (popcount((entry.mask * factor) >> 56) >= 6 &&
            fill_table(entry, factor, occupancies, attacks, filled_in, attempt, table)) {
            entry.factor = factor;
            return;
        }
    }
}

void init_sliders(magic_entry (&entries)[64], const bitboard (&recorded)[64], bitboard* table,
                  const std::array<step, 4>& steps, std::uint64_t seed) {
    magic_rng rng{seed};
    for (int i = 0; i < 64; ++i) {
        const square s = square(i);
        magic_entry& e = entries[s];
        e.mask = relevant_mask(s, steps);
        e.shift = unsigned(64 - popcount(e.mask));
        e.attacks = table;
        find_magic(s, e, recorded[s], table, steps, rng);
        table += std::size_t(1) << popcount(e.mask);
    }
}

// Factors this file's search found (xorshift64* seeded as in the initialiser below). Searching
// takes ~150 ms, too long for every program that loads the library; checking them takes ~2 ms.
constexpr bitboard rook_factors[64] = {
    0x1080004008801020ULL, 0x0840092002C03000ULL, 0x1900200010400900ULL, 0x0880100008000480ULL,
    0x4200100420080200ULL, 0x8100020100080400ULL, 0x0200040110886200ULL, 0x0200008040220411ULL,
    0x0404800084400220ULL, 0x0000401000402000ULL, 0x0086001081220440ULL, 0x0408800800100280ULL,
    0x000A001201040820ULL, 0x8848800200840080ULL, 0x4001000100040200ULL, 0x0442000102105084ULL,
    0x9080010020804100ULL, 0x0040404000201009ULL, 0x0000808010002009ULL, 0x2200090021D00100ULL,
    0x0008008008040080ULL, 0x0004004002010040ULL, 0x0011040008015042ULL, 0x00000A0001768104ULL,
    0x0000800080204009ULL, 0x2010004140002001ULL, 0x9800200280100080ULL, 0x1000100080080080ULL,
    0x0442000A00049020ULL, 0x2100040080020080ULL, 0x0800120400900148ULL, 0x0010040A00128541ULL,
    0x2800804000800030ULL, 0x1010002000400041ULL, 0x4000200011004100ULL, 0x0610008410800800ULL,
    0x0400802402800800ULL, 0xC100020080800400ULL, 0x0002000802000401ULL, 0x0182085882000401ULL,
    0x0220204000808000ULL, 0x2860100040024022ULL, 0x0001002004110040ULL, 0x99101042000A0020ULL,
    0x0004080004008080ULL, 0x0010040002008080ULL, 0x2012004881020004ULL, 0x8300842444820011ULL,
    0x0088403882010200ULL, 0x0820400080210100ULL, 0x0110910040A00300ULL, 0x0801100280080480ULL,
    0x0242009008200600ULL, 0x1002000489500200ULL, 0x0040800200010080ULL, 0x0091800041000080ULL,
    0x0000209300488001ULL, 0x04C1002414824001ULL, 0x020020000B001041ULL, 0x7000100004200901ULL,
    0x8002002004100802ULL, 0x30010002084C0007ULL, 0x0888221800813004ULL, 0x4000002840840112ULL,
};
constexpr bitboard bishop_factors[64] = {
    0x2048017020910100ULL, 0x0044410424008008ULL, 0x040828A400900000ULL, 0x8002209200022000ULL,
    0x0002021000540002ULL, 0x0021018840000000ULL, 0x00009E8420204002ULL, 0x00A0920110084480ULL,
    0x4003062018010110ULL, 0x0221046812004E09ULL, 0x01E11002958912A0ULL, 0x0000044410804000ULL,
    0x0000821210000080ULL, 0x080201102210A800ULL, 0x0080040411045004ULL, 0x00704A1842021000ULL,
    0x1005061070322800ULL, 0x0018001010410444ULL, 0x0010000800401420ULL, 0x2204002844000800ULL,
    0x2052020412022280ULL, 0x000A020101008208ULL, 0x0040400201042000ULL, 0x03E1082040480410ULL,
    0x1004200004208414ULL, 0x08700400984808C8ULL, 0x0088080004004410ULL, 0x008C0240140100A2ULL,
    0x0008840001822000ULL, 0x0050088001080100ULL, 0x98140840040A2200ULL, 0x3002020900210110ULL,
    0x1004040640206000ULL, 0x1090909000840400ULL, 0x9002444810100020ULL, 0x4000020080080080ULL,
    0x0028020400011010ULL, 0x0290808300020100ULL, 0x8010020882004410ULL, 0x0604010040082C20ULL,
    0x20040104C0801008ULL, 0x6004208424001050ULL, 0x1002840041000800ULL, 0x0200042018000102ULL,
    0xA8002000A0821C00ULL, 0x0040080802201910ULL, 0x0222620444000100ULL, 0x0002080041020088ULL,
    0x1500820110401050ULL, 0x0000492090100080ULL, 0x0900410041100000ULL, 0x0302000420880000ULL,
    0x0010501202020020ULL, 0x0008200490049040ULL, 0x0462080214A40120ULL, 0x2421310102008100ULL,
    0x2400420080884060ULL, 0x0800804406184208ULL, 0x0B0080124A084400ULL, 0x082E082300840412ULL,
    0x6051049040082200ULL, 0xC610211002102101ULL, 0x0000048808010433ULL, 0x0010200804405440ULL,
};

// 4096 occupancies at most per rook square (102,400 in all), 512 per bishop square (5,248).
bitboard rook_table[102400];
bitboard bishop_table[5248];

void init_leapers() {
    for (int i = 0; i < 64; ++i) {
        const square s = square(i);
        tables.knight[s] =
            leaper(s, {{1, 2}, {2, 1}, {2, -1}, {1, -2}, {-1, -2}, {-2, -1}, {-2, 1}, {-1, 2}});
        tables.king[s] =
            leaper(s, {{1, 0}, {1, 1}, {0, 1}, {-1, 1}, {-1, 0}, {-1, -1}, {0, -1}, {1, -1}});
        tables.pawn[white][s] = leaper(s, {{-1, 1}, {1, 1}});
        tables.pawn[black][s] = leaper(s, {{-1, -1}, {1, -1}});
    }
}

void init_lines() {
    for (int a = 0; a < 64; ++a)
        for (int b = 0; b < 64; ++b) {
            const square sa = square(a), sb = square(b);
            if (a == b)
                continue;
            for (const auto* steps : {&rook_steps, &bishop_steps}) {
                if (!(slide(sa, 0, *steps) & square_bb(sb)))
                    continue;
                tables.between[a][b] =
                    slide(sa, square_bb(sb), *steps) & slide(sb, square_bb(sa), *steps);
                tables.line[a][b] =
                    (slide(sa, 0, *steps) & slide(sb, 0, *steps)) | square_bb(sa) | square_bb(sb);
            }
        }
}

// Runs before any default-priority static initialiser of the program that links the library,
// so a position or game at namespace scope finds the tables filled.
struct initialiser {
    initialiser() {
        init_leapers();
        init_lines();
        init_sliders(tables.rook, rook_factors, rook_table, rook_steps, 0x9E3779B97F4A7C15ULL);
        init_sliders(tables.bishop, bishop_factors, bishop_table, bishop_steps,
                     0xD1B54A32D192ED03ULL);
    }
};
[[gnu::init_priority(101)]] const initialiser init;

} // namespace
} // namespace grokkit::chess::detail
