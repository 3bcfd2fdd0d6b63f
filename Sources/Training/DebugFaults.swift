import Foundation

/// Faults a test can inject into a training run (`dion train --debug-…` flags), to check that the
/// job skips, aborts or is torn down instead of hanging or training on garbage.
public struct DebugFaults: Sendable, Hashable {
    /// Steps (1-based) at which `rank` poisons its gradient with a NaN after the backward pass.
    public var nanSteps: Set<Int> = []
    /// The step (1-based) before which `rank` sleeps for `stallSeconds` (a stalled process).
    public var stallStep: Int?
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

    /// Poisons this rank's gradient when a NaN is due at step `step + 1`.
    func injectNaN() {
        guard faults.nanSteps.contains(step + 1), mesh.world.rank == faults.rank else { return }
        if let i = parameters.gradients.firstIndex(where: { !$0.local.isEmpty }) { parameters.gradients[i].local[0] = .nan }
    }
}
