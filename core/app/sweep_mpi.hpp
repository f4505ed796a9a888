// MPI for `mpirun -np R grokkit sweep ...`: rank 0 hands out points and writes the index, every
// rank (rank 0 too) runs points. Built only when CMake finds MPI; otherwise a session refuses
// to start under mpirun with more than one rank.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "host/sweep_run.hpp"

namespace grokkit::cli {

/// MPI for the lifetime of the object when this process is one of several ranks (mpirun set
/// OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_RANK under srun), else a single rank 0 of 1.
class mpi_session {
  public:
    mpi_session();
    ~mpi_session();
    mpi_session(const mpi_session&) = delete;
    mpi_session& operator=(const mpi_session&) = delete;
    int rank() const { return m_rank; }
    int size() const { return m_size; }
    /// Whether every rank passes `ok` (collective).
    bool agree(bool ok);
    /// Runs the points across the ranks: rank 0 returns the sweep's counts, others theirs.
    sweep::pool_result run(const sweep::layout& dir, const sweep::sweep_spec& spec,
                           const std::vector<sweep::point>& points,
                           const sweep::pool_options& options);
    /// run(), and MPI_Abort on an error: the other ranks would otherwise wait forever.
    sweep::pool_result run_or_abort(const sweep::layout& dir, const sweep::sweep_spec& spec,
                                    const std::vector<sweep::point>& points,
                                    const sweep::pool_options& options);

  private:
    void abort_all(int code);
    int m_rank = 0, m_size = 1;
    bool m_initialised = false;
};

} // namespace grokkit::cli
