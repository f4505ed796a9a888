// PGN reading (plain or zstd, streamed) and writing.
// SPDX-License-Identifier: Apache-2.0
#include "text.hpp"

#include <grokkit/chess/notation.hpp>
#include <grokkit/chess/pgn.hpp>
#include <grokkit/error.hpp>

#include <zstd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace grokkit::chess {

namespace {

/// Bytes of a file, as stored or decompressed.
class byte_source {
  public:
    virtual ~byte_source() = default;
    /// Up to `n` bytes into `out`; 0 at the end. Throws grokkit::error on a read error.
    virtual std::size_t read(char* out, std::size_t n) = 0;
};

class file_bytes : public byte_source {
  public:
    file_bytes(std::FILE* f, std::string path) : m_file(f), m_path(std::move(path)) {}
    ~file_bytes() override { std::fclose(m_file); }
    std::size_t read(char* out, std::size_t n) override {
        const std::size_t got = std::fread(out, 1, n, m_file);
        if (got == 0 && std::ferror(m_file))
            throw error(m_path, std::string("read error: ") + std::strerror(errno));
        return got;
    }

  private:
    std::FILE* m_file;
    std::string m_path;
};

/// A zstd stream, decompressed as it is read.
class zstd_bytes : public byte_source {
  public:
    explicit zstd_bytes(std::unique_ptr<byte_source> raw, std::string path)
        : m_raw(std::move(raw)), m_path(std::move(path)), m_context(ZSTD_createDCtx()),
          m_in_buffer(ZSTD_DStreamInSize()) {
        // Files compressed with --long use windows beyond the default limit of 2^27.
        ZSTD_DCtx_setParameter(m_context, ZSTD_d_windowLogMax, 31); // ZSTD_WINDOWLOG_MAX_64
    }
    ~zstd_bytes() override { ZSTD_freeDCtx(m_context); }

    std::size_t read(char* out, std::size_t n) override {
        ZSTD_outBuffer output{out, n, 0};
        while (output.pos == 0) {
            if (m_input.pos == m_input.size) {
                m_input = {m_in_buffer.data(), m_raw->read(m_in_buffer.data(), m_in_buffer.size()),
                           0};
                if (m_input.size == 0) {
                    if (m_frame_open)
                        throw error(m_path, "the zstd stream is truncated");
                    return 0;
                }
            }
            const std::size_t hint = ZSTD_decompressStream(m_context, &output, &m_input);
            if (ZSTD_isError(hint))
                throw error(m_path, std::string("corrupt zstd data: ") + ZSTD_getErrorName(hint));
            m_frame_open = hint != 0;
        }
        return output.pos;
    }

  private:
    std::unique_ptr<byte_source> m_raw;
    std::string m_path;
    ZSTD_DCtx* m_context;
    std::vector<char> m_in_buffer;
    ZSTD_inBuffer m_input{nullptr, 0, 0};
    bool m_frame_open = false;
};

bool is_result(std::string_view t) {
    return t == "1-0" || t == "0-1" || t == "1/2-1/2" || t == "*";
}

bool is_space(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_supported_variant(std::string v) {
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    return v.empty() || v == "standard" || v == "chess" || v == "from position";
}

constexpr std::size_t max_token = 256; // longer tokens are kept cut (and then fail as moves)

} // namespace

const std::string* pgn_game::tag(std::string_view name) const {
    for (const auto& [key, value] : tags)
        if (key == name)
            return &value;
    return nullptr;
}

position pgn_game::final_position() const {
    position pos = start;
    for (const move m : moves)
        (void)pos.make(m);
    return pos;
}

struct pgn_reader::state {
    std::string path;
    std::unique_ptr<byte_source> source;
    std::array<char, 1 << 16> buffer;
    std::size_t at = 0, end = 0;
    bool exhausted = false;
    std::size_t line = 1;
    bool line_start = true;
    std::size_t games = 0;

    int peek() {
        if (at == end && !refill())
            return -1;
        return static_cast<unsigned char>(buffer[at]);
    }
    int get() {
        const int c = peek();
        if (c < 0)
            return c;
        ++at;
        if (c == '\n')
            ++line;
        line_start = c == '\n';
        return c;
    }
    bool refill() {
        if (exhausted)
            return false;
        at = 0;
        end = source->read(buffer.data(), buffer.size());
        exhausted = end == 0;
        return !exhausted;
    }
    void skip_line() {
        for (int c = get(); c >= 0 && c != '\n'; c = get()) {
        }
    }
    /// Skips a {comment}, to its '}' or the end of the file.
    void skip_comment() {
        for (int c = get(); c >= 0 && c != '}'; c = get()) {
        }
    }
    std::string token() {
        std::string t;
        for (int c = peek(); c >= 0 && !is_space(c) && std::strchr("{}()[];", c) == nullptr;
             c = peek()) {
            get();
            if (t.size() < max_token)
                t += char(c);
        }
        return t;
    }
    void read_tag(pgn_game& game);
    void play(pgn_game& game, position& current, bool& set_up, const std::string& text);
};

void pgn_reader::state::read_tag(pgn_game& game) {
    const std::size_t tag_line = line;
    get(); // '['
    std::string name, value;
    while (peek() == ' ' || peek() == '\t')
        get();
    for (int c = peek(); c >= 0 && (std::isalnum(c) || c == '_'); c = peek())
        name += char(get());
    while (peek() == ' ' || peek() == '\t')
        get();
    bool closed = false;
    if (!name.empty() && peek() == '"') {
        get();
        for (int c = get(); c >= 0 && c != '\n'; c = get()) {
            if (c == '\\' && (peek() == '"' || peek() == '\\'))
                c = get();
            else if (c == '"') {
                closed = true;
                break;
            }
            if (value.size() < (1 << 16))
                value += char(c);
        }
    }
    // The rest of the tag up to ']', on the same line.
    bool bracket = false;
    if (closed)
        for (int c = peek(); c >= 0 && c != '\n'; c = peek()) {
            get();
            if (c == ']') {
                bracket = true;
                break;
            }
        }
    if (!bracket) {
        if (!line_start)
            skip_line();
        if (!game.problem)
            game.problem = pgn_problem{0, "",
                                       "line " + std::to_string(tag_line) +
                                           ": malformed tag pair; expected [Name \"value\"]"};
        return;
    }
    game.tags.emplace_back(std::move(name), std::move(value));
}

void pgn_reader::state::play(pgn_game& game, position& current, bool& set_up,
                             const std::string& text) {
    if (game.problem)
        return;
    if (!set_up) {
        set_up = true;
        if (const std::string* variant = game.tag("Variant");
            variant && !is_supported_variant(*variant)) {
            game.problem = pgn_problem{
                0, "", "variant " + detail::quoted(*variant) + " is not standard chess"};
            return;
        }
        if (const std::string* fen = game.tag("FEN")) {
            try {
                game.start = position::from_fen(*fen);
            } catch (const error& e) {
                game.problem = pgn_problem{0, "", std::string("FEN tag: ") + e.what()};
                return;
            }
        }
        current = game.start;
    }
    try {
        const move m = parse_san(current, text);
        (void)current.make(m);
        game.moves.push_back(m);
    } catch (const error& e) {
        game.problem = pgn_problem{game.moves.size() + 1, text, e.what()};
    }
}

pgn_reader::pgn_reader(const std::string& path) : m_state(std::make_unique<state>()) {
    m_state->path = path;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        throw error(path, std::string("cannot open: ") + std::strerror(errno));
    std::unique_ptr<byte_source> raw = std::make_unique<file_bytes>(f, path);
    // Recognise zstd by its magic number; keep the bytes read for either reader.
    unsigned char magic[4] = {0, 0, 0, 0};
    const std::size_t got = raw->read(reinterpret_cast<char*>(magic), 4);
    const bool zstd =
        got == 4 && magic[0] == 0x28 && magic[1] == 0xB5 && magic[2] == 0x2F && magic[3] == 0xFD;
    std::rewind(f);
    m_state->source = zstd ? std::make_unique<zstd_bytes>(std::move(raw), path) : std::move(raw);
    // A UTF-8 byte order mark.
    if (m_state->peek() == 0xEF && m_state->end - m_state->at >= 3 &&
        static_cast<unsigned char>(m_state->buffer[m_state->at + 1]) == 0xBB &&
        static_cast<unsigned char>(m_state->buffer[m_state->at + 2]) == 0xBF)
        m_state->at += 3;
}

pgn_reader::~pgn_reader() = default;

bool pgn_reader::next(pgn_game& game) {
    state& s = *m_state;
    game = pgn_game{};
    bool started = false, in_movetext = false, set_up = false;
    int depth = 0; // of variations
    position current;
    auto begin = [&] {
        if (!started) {
            started = true;
            game.number = ++s.games;
            game.line = s.line;
        }
    };
    auto finish = [&](std::string result) {
        if (result.empty()) {
            const std::string* tag = game.tag("Result");
            result = tag && is_result(*tag) ? *tag : "*";
        }
        game.result = std::move(result);
        return true;
    };
    for (;;) {
        const int c = s.peek();
        if (c < 0)
            return started ? finish("") : false;
        if (s.line_start && c == '%') {
            s.skip_line();
        } else if (is_space(c)) {
            s.get();
        } else if (c == '[') {
            if (in_movetext) // the next game's tags: this one ended without a result
                return finish("");
            begin();
            s.read_tag(game);
        } else if (c == '{') {
            s.skip_comment();
        } else if (c == ';') {
            s.skip_line();
        } else if (c == '(' || c == ')') {
            begin();
            in_movetext = true;
            s.get();
            depth = c == '(' ? depth + 1 : std::max(0, depth - 1);
        } else {
            begin();
            in_movetext = true;
            std::string t = s.token();
            if (t.empty()) { // a stray ']' or other delimiter
                s.get();
                continue;
            }
            // Variations, NAGs ($1) and glyphs written apart from their move ("e4 !?").
            if (depth > 0 || t[0] == '$' || t.find_first_not_of("!?") == std::string::npos)
                continue;
            if (is_result(t))
                return finish(t);
            // Move numbers, alone ("12.", "12...") or glued to the move ("12.e4").
            std::size_t digits = 0;
            while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits])))
                ++digits;
            std::size_t dots = digits;
            while (dots < t.size() && t[dots] == '.')
                ++dots;
            if (digits > 0 && (dots > digits || dots == t.size()))
                t.erase(0, dots);
            if (!t.empty())
                s.play(game, current, set_up, t);
        }
    }
}

std::string write_pgn(const std::vector<std::pair<std::string, std::string>>& tags,
                      const position& start, const std::vector<move>& moves,
                      const std::string& result) {
    auto escaped = [](const std::string& v) {
        std::string out;
        for (const char c : v) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        return out;
    };
    auto value_of = [&tags](const std::string& name) -> const std::string* {
        for (const auto& [key, value] : tags)
            if (key == name)
                return &value;
        return nullptr;
    };
    std::string out;
    const std::array<std::string, 7> roster = {"Event", "Site",  "Date",  "Round",
                                               "White", "Black", "Result"};
    for (const auto& name : roster) {
        const std::string* v = value_of(name);
        const std::string value = name == "Result" ? result
                                  : v              ? *v
                                  : name == "Date" ? "????.??.??"
                                                   : "?";
        out += "[" + name + " \"" + escaped(value) + "\"]\n";
    }
    const bool from_start = start.fen() == start_fen;
    for (const auto& [key, value] : tags)
        if (std::find(roster.begin(), roster.end(), key) == roster.end() && key != "SetUp" &&
            key != "FEN")
            out += "[" + key + " \"" + escaped(value) + "\"]\n";
    if (!from_start)
        out += "[SetUp \"1\"]\n[FEN \"" + start.fen() + "\"]\n";
    out += '\n';

    std::string line;
    auto emit = [&](const std::string& token) {
        if (!line.empty() && line.size() + 1 + token.size() > 80) {
            out += line + '\n';
            line.clear();
        }
        if (!line.empty())
            line += ' ';
        line += token;
    };
    position pos = start;
    for (std::size_t i = 0; i < moves.size(); ++i) {
        const std::string number = std::to_string(pos.fullmove_number());
        if (pos.side_to_move() == white)
            emit(number + ".");
        else if (i == 0)
            emit(number + "...");
        emit(to_san(pos, moves[i]));
        (void)pos.make(moves[i]);
    }
    emit(result);
    out += line + "\n\n";
    return out;
}

} // namespace grokkit::chess
