import MPIShim

/// Requests that are wrong on every rank are rejected locally, before any MPI call, so every
/// rank gets the error and none is left waiting.
func runErrorChecks(_ world: Communicator, _ checker: inout Checker) throws {
    let g = world.size
    if g > 1 { try indivisibleChecks(world, &checker) }
    try checker.expectThrows("reduceScatter counts of the wrong length", code: .invalidArgument) { () throws(MPIError) in
        _ = try world.reduceScatter([Float](repeating: 0, count: 4), counts: [4] + [Int](repeating: 0, count: g))
    }
    try checker.expectThrows("allGather counts that do not match the input", code: .invalidArgument) { () throws(MPIError) in
        _ = try world.allGather([Float](repeating: 0, count: 3), counts: [Int](repeating: 2, count: g))
    }
    try checker.expectThrows("average of integers", code: .invalidArgument) { () throws(MPIError) in
        var x: [Int32] = [1]
        try world.allReduce(&x, op: .average)
    }
    try checker.expectThrows("broadcast from a root outside the communicator", code: .invalidArgument) { () throws(MPIError) in
        var x: [Float] = [1]
        try world.broadcast(&x, root: g)
    }
    try checker.expectThrows("split with a negative color", code: .invalidArgument) { () throws(MPIError) in
        _ = try world.split(color: -2)
    }
    try world.barrier()
}

/// Sizes not divisible by the communicator size (only possible with more than one rank).
private func indivisibleChecks(_ world: Communicator, _ checker: inout Checker) throws {
    let g = world.size
    try checker.expectThrows("reduceScatter of an indivisible input", code: .invalidArgument) { () throws(MPIError) in
        _ = try world.reduceScatter([Float](repeating: 0, count: g + 1))
    }
    try checker.expectThrows("allToAll of an indivisible input", code: .invalidArgument) { () throws(MPIError) in
        _ = try world.allToAll([Float](repeating: 0, count: g + 1))
    }
    try checker.expectThrows("iReduceScatter of an indivisible input", code: .invalidArgument) { () throws(MPIError) in
        _ = try world.iReduceScatter([Float](repeating: 0, count: g + 1))
    }
}
