import Foundation
import MPIShim

/// Faults a test can inject into a training run (`dion train --debug-…` flags), to check that the
/// job skips, aborts or is torn down instead of hanging or training on garbage.
public struct DebugFaults: Sendable, Hashable {
    /// Steps (1-based) at which `rank` poisons its gradient with a NaN after the backward pass.
    public var nanSteps: Set<Int> = []
    /// The step (1-based) before which `rank` sleeps for `stallSeconds` (a stalled process).
    public var stallStep: Int?
    /// The step (1-based) in whose optimizer step `rank`'s first blocking collective fails as if
    /// MPI had returned `MPI_ERR_OTHER` (`MPIRuntime.failNextCollective`); with an optimizer that
    /// sends nothing on this rank, the next blocking collective after it fails instead.
    public var mpiFailureStep: Int?
    public var stallSeconds: Double = 3600
    /// The rank that misbehaves.
    public var rank: Int = 0

    public init() {}
}

extension Trainer {
    /// Applies the faults due before step `step + 1` on this rank.
    func injectStall() {
        guard let stall = faults.stallStep, stall == step + 1, mesh.world.rank == faults.rank else { return }
        FileHandle.standardError.write(Data("[rank \(mesh.world.rank)] debug: stalling for \(faults.stallSeconds) s before step \(stall)\n".utf8))
        Thread.sleep(forTimeInterval: faults.stallSeconds)
    }

    /// Makes this rank's next collective fail when an MPI failure is due in step `step + 1`'s
    /// optimizer step (called just before it).
    func injectMPIFailure() {
        guard faults.mpiFailureStep == step + 1, mesh.world.rank == faults.rank else { return }
        let note = "[rank \(mesh.world.rank)] debug: failing the next collective (optimizer step \(step + 1))\n"
        FileHandle.standardError.write(Data(note.utf8))
        MPIRuntime.failNextCollective()
    }

    /// Poisons this rank's gradient when a NaN is due at step `step + 1`.
    func injectNaN() {
        guard faults.nanSteps.contains(step + 1), mesh.world.rank == faults.rank else { return }
        if let i = parameters.gradients.firstIndex(where: { !$0.local.isEmpty }) { parameters.gradients[i].local[0] = .nan }
    }
}
