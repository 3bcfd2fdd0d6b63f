import Foundation
import MPIShim
import Sharding

/// Prints, on every rank, `PLACE rank R host H dp D fsdp F tp T`: the host the rank runs on (its
/// UTS host name: one per emulated host) and its coordinate on `mesh`. The emulated-cluster test
/// checks from these lines that the innermost mesh axis stays inside a host.
func runPlacementReport(_ world: Communicator, mesh text: String) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    let host = ProcessInfo.processInfo.hostName
    print("PLACE rank \(world.rank) host \(host) dp \(mesh.index(on: .replicate)) fsdp \(mesh.index(on: .fsdp)) "
          + "tp \(mesh.index(on: .tp))")
    try world.barrier()
}
