// SPDX-License-Identifier: Apache-2.0
#include "store/test_hook.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

namespace grokkit::test_hook {

namespace {

struct hold {
    std::string event; ///< empty: no hook
    long long at = 0;  ///< the occurrence to hold at, from 1
    long long seen = 0;
};

hold& the_hold() {
    static hold h = [] {
        hold parsed;
        const char* spec = std::getenv("GROKKIT_TEST_HOLD");
        if (spec == nullptr)
            return parsed;
        const std::string text(spec);
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || colon == 0)
            return parsed;
        parsed.event = text.substr(0, colon);
        parsed.at = std::atoll(text.c_str() + colon + 1);
        return parsed;
    }();
    return h;
}

} // namespace

void reached(const char* event) {
    hold& h = the_hold();
    if (h.event.empty() || h.event != event || ++h.seen != h.at)
        return;
    std::fprintf(stderr, "grokkit: test hook holding at %s %lld\n", event, h.at);
    std::fflush(stderr);
    const char* release = std::getenv("GROKKIT_TEST_RELEASE");
    while (release == nullptr || !std::filesystem::exists(release))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

} // namespace grokkit::test_hook
