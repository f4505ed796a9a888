// The MPI backend of `grokkit sweep`: rank 0 owns the queue and the index and runs points as
// well; the other ranks ask it for a point, run it, report, and ask again.
// SPDX-License-Identifier: Apache-2.0
#include "sweep_mpi.hpp"

#include <grokkit/error.hpp>

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>

#ifdef GROKKIT_WITH_MPI
#include <mpi.h>
#endif

namespace grokkit::cli {

namespace {

// The number of ranks the launcher says this process is one of (0 when none said).
int ranks_from_environment() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
        if (const char* v = std::getenv(name))
            return std::atoi(v);
    return 0;
}

} // namespace

sweep::pool_result mpi_session::run_or_abort(const sweep::layout& dir,
                                             const sweep::sweep_spec& spec,
                                             const std::vector<sweep::point>& points,
                                             const sweep::pool_options& options) {
    try {
        return run(dir, spec, points, options);
    } catch (const std::exception& e) {
        std::cerr << "error: sweep: MPI rank " << m_rank << ": " << e.what()
                  << "; stopping every rank\n";
        abort_all(1);
        throw;
    }
}

#ifndef GROKKIT_WITH_MPI

mpi_session::mpi_session() {
    if (const int n = ranks_from_environment(); n > 1)
        throw error("sweep",
                    "started as one of " + std::to_string(n) +
                        " MPI ranks, but this grokkit was built without MPI",
                    "a build with libopenmpi-dev installed (scripts/install-deps), or no mpirun");
}
mpi_session::~mpi_session() = default;
bool mpi_session::agree(bool ok) {
    return ok;
}
void mpi_session::abort_all(int) {}
sweep::pool_result mpi_session::run(const sweep::layout& dir, const sweep::sweep_spec& spec,
                                    const std::vector<sweep::point>& points,
                                    const sweep::pool_options& options) {
    return sweep::run_pool(dir, spec, points, options);
}

#else

mpi_session::mpi_session() {
    if (ranks_from_environment() < 2)
        return;
    MPI_Init(nullptr, nullptr);
    m_initialised = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &m_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m_size);
}

mpi_session::~mpi_session() {
    if (m_initialised)
        MPI_Finalize();
}

void mpi_session::abort_all(int code) {
    if (m_initialised)
        MPI_Abort(MPI_COMM_WORLD, code);
}

bool mpi_session::agree(bool ok) {
    if (!m_initialised)
        return ok;
    int mine = ok ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all == 1;
}

namespace {

constexpr int tag_ready = 1;  // worker -> 0: {point it ran or -1, 0 ran / 1 runs elsewhere}
constexpr int tag_assign = 2; // 0 -> worker: the point to run, or -1: stop

using sweep::point_state;

// Rank 0: hands out points on request, runs one itself, rewrites the index as each ends.
struct coordinator {
    const sweep::layout& dir;
    const sweep::sweep_spec& spec;
    const std::vector<sweep::point>& points;
    const sweep::pool_options& options;
    int workers; // ranks not yet told to stop
    sweep::stop_flag stop{};
    sweep::launcher local{dir, spec, points, options};
    sweep::work_queue queue{dir, spec, points, sweep::shard_points(points.size(), 0, 1),
                            options.retry_failed};
    sweep::sweep_progress shown{points.size(), queue.counts().done, options.quiet};

    void ended(std::size_t i) {
        queue.ended(i);
        sweep::write_index(dir, spec, points, queue.records());
        shown.ended(points[i], queue.records()[i], queue.counts());
    }
    void start_local() {
        while (!stop.requested() && local.running() == 0)
            if (const auto i = queue.next(); !i)
                return;
            else if (!local.start(*i))
                queue.running_elsewhere(*i);
    }
    // Answers one waiting worker, if any; true when it did.
    bool answer() {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, tag_ready, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            return false;
        long long msg[2];
        MPI_Recv(msg, 2, MPI_LONG_LONG, st.MPI_SOURCE, tag_ready, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        if (msg[0] >= 0 && msg[1] == 1)
            queue.running_elsewhere(static_cast<std::size_t>(msg[0]));
        else if (msg[0] >= 0)
            ended(static_cast<std::size_t>(msg[0]));
        long long assign = -1;
        if (!stop.requested())
            if (const auto i = queue.next())
                assign = static_cast<long long>(*i);
        workers -= assign < 0 ? 1 : 0;
        MPI_Send(&assign, 1, MPI_LONG_LONG, st.MPI_SOURCE, tag_assign, MPI_COMM_WORLD);
        return true;
    }
    sweep::pool_result run() {
        sweep::write_index(dir, spec, points, queue.records());
        bool forwarded = false;
        for (;;) {
            start_local();
            if (stop.requested() && !forwarded) {
                local.signal_all(SIGTERM);
                forwarded = true;
            }
            bool busy = answer();
            if (const auto e = local.wait(false)) {
                ended(e->index);
                busy = true;
            }
            if (busy)
                continue;
            if (local.running() == 0 && workers == 0) {
                if (stop.requested() || !queue.wait_elsewhere())
                    break;
                continue;
            }
            const timespec pause{0, 2'000'000}; // between polls of the ranks and the children
            nanosleep(&pause, nullptr);
        }
        sweep::write_index(dir, spec, points, queue.records()); // points waited for elsewhere
        shown.finish();
        return {queue.counts(), stop.requested()};
    }
};

// Any other rank: asks rank 0 for a point, runs it, says so, asks again.
sweep::pool_result work(const sweep::layout& dir, const sweep::sweep_spec& spec,
                        const std::vector<sweep::point>& points,
                        const sweep::pool_options& options) {
    sweep::stop_flag stop;
    sweep::launcher local(dir, spec, points, options);
    long long msg[2] = {-1, 0};
    for (;;) {
        MPI_Send(msg, 2, MPI_LONG_LONG, 0, tag_ready, MPI_COMM_WORLD);
        long long assign = -1;
        MPI_Recv(&assign, 1, MPI_LONG_LONG, 0, tag_assign, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (assign < 0)
            break;
        if (!local.start(static_cast<std::size_t>(assign))) {
            msg[0] = assign;
            msg[1] = 1;
            continue;
        }
        while (!local.wait(true))
            if (stop.requested())
                local.signal_all(SIGTERM); // it checkpoints and ends interrupted
        msg[0] = assign;
        msg[1] = 0;
    }
    return {};
}

} // namespace

sweep::pool_result mpi_session::run(const sweep::layout& dir, const sweep::sweep_spec& spec,
                                    const std::vector<sweep::point>& points,
                                    const sweep::pool_options& options) {
    sweep::pool_options mine = options;
    mine.runner = "MPI rank " + std::to_string(m_rank) + " of " + std::to_string(m_size);
    if (m_rank != 0)
        return work(dir, spec, points, mine);
    coordinator c{dir, spec, points, mine, m_size - 1};
    return c.run();
}

#endif

} // namespace grokkit::cli
