import CMPI

extension MPIRuntime {
    /// Makes this process's next blocking collective fail as if its MPI function had returned
    /// `MPI_ERR_OTHER`: it throws the `MPIError` MPI's own failure would give (code, error class,
    /// MPI's error string, the function's name) before calling MPI. For fault-injection tests
    /// (`dion train --debug-mpi-failure-step`): the other ranks wait in that collective until the
    /// failing rank's `FailFast` aborts the job. When off it costs one relaxed atomic load per
    /// collective, beside the guards'.
    public static func failNextCollective() {
        CollectiveGuards.failNext.store(true, ordering: .relaxed)
    }
}

extension CollectiveOperation {
    /// The MPI function that performs the operation (what a failure of it names).
    var mpiFunction: String {
        switch self {
        case .allReduce: "MPI_Allreduce"
        case .reduceScatter: "MPI_Reduce_scatter"
        case .allGather: "MPI_Allgather"
        case .broadcast: "MPI_Bcast"
        case .allToAll: "MPI_Alltoallv"
        case .barrier: "MPI_Barrier"
        case .iAllReduce: "MPI_Iallreduce"
        case .iReduceScatter: "MPI_Ireduce_scatter"
        case .iAllGather: "MPI_Iallgather"
        }
    }
}

extension Communicator {
    /// Throws the injected failure (`MPIRuntime.failNextCollective`) once, if one is due.
    func throwInjectedFailure(_ operation: CollectiveOperation) throws(MPIError) {
        guard CollectiveGuards.failNext.exchange(false, ordering: .relaxed) else { return }
        throw makeMPIError(MPI_ERR_OTHER, function: operation.mpiFunction)
    }
}
