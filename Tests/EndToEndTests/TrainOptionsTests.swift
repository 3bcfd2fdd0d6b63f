import Foundation
import Testing
import _TestSupport

/// The training options that had no test of their own: gradient accumulation, gradient clipping
/// and Dion's compressed data-parallel sync in a real run (the schedules' values:
/// `LearningRateScheduleTests`).
@Suite("dion train options (accumulation, clipping, compressed sync)", .serialized)
struct TrainOptionsTests {
    /// Losses of `dion train` (train, val, train, val over two steps) with `extra` flags.
    static func losses(ranks: Int, mesh: String, optimizer: String = "dion", _ extra: [String]) throws -> [Double] {
        TrainMultiRankTests.losses(try TrainMultiRankTests.train(ranks: ranks, mesh: mesh, optimizer: optimizer, extra: extra))
    }

    static func expectClose(_ a: [Double], _ b: [Double], tolerance: Double = 2e-5, _ what: String) {
        #expect(a.count == 4 && b.count == 4, "\(what): \(a) vs \(b)")
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= tolerance * abs(x), "\(what): \(b) vs \(a)") }
    }

    @Test("two micro-batches of 4 give the losses of one batch of 8, on one process and on dp=2")
    func gradientAccumulation() throws {
        let whole = try Self.losses(ranks: 1, mesh: "dp=1", [])
        let accumulated = try Self.losses(ranks: 1, mesh: "dp=1", ["--grad-accum", "2"])
        Self.expectClose(whole, accumulated, "--grad-accum 2 on one process")
        let distributed = try Self.losses(ranks: 2, mesh: "dp=2", ["--grad-accum", "2"])
        Self.expectClose(whole, distributed, "--grad-accum 2 on dp=2")
    }

    @Test("clipping: a huge threshold changes nothing, a tiny one changes the run, and dp=2 clips as one process does")
    func gradientClipping() throws {
        let free = try Self.losses(ranks: 1, mesh: "dp=1", optimizer: "adamw", [])
        let loose = try Self.losses(ranks: 1, mesh: "dp=1", optimizer: "adamw", ["--grad-clip", "1e9"])
        Self.expectClose(free, loose, "--grad-clip 1e9")
        // A tiny threshold rescales every gradient: Dion's orthonormalized step is nearly scale-free,
        // but its momentum mixes steps of different scale, so the run must differ from unclipped.
        let tight = try Self.losses(ranks: 1, mesh: "dp=1", ["--grad-clip", "1e-6"])
        let dion = try Self.losses(ranks: 1, mesh: "dp=1", [])
        #expect(tight[2] != dion[2], "a tiny clip changes the run: \(tight) vs \(dion)")
        let distributed = try Self.losses(ranks: 2, mesh: "dp=2", ["--grad-clip", "1e-6"])
        Self.expectClose(tight, distributed, "--grad-clip 1e-6 on dp=2")
        let clipped = try Self.losses(ranks: 2, mesh: "dp=2", ["--grad-clip", "0.5"])
        let alone = try Self.losses(ranks: 1, mesh: "dp=1", ["--grad-clip", "0.5"])
        Self.expectClose(alone, clipped, "--grad-clip 0.5 on dp=2")
    }

    @Test("Dion's compressed data-parallel sync trains like one process (its mean buffer follows the single-device recursion)")
    func compressedSync() throws {
        let alone = try Self.losses(ranks: 1, mesh: "dp=1", ["--rank-fraction", "1/8"])
        let compressed = try Self.losses(ranks: 2, mesh: "dp=2", ["--rank-fraction", "1/8", "--sync", "compressed"])
        Self.expectClose(alone, compressed, tolerance: 5e-5, "--sync compressed on dp=2")
        let uncompressed = try Self.losses(ranks: 2, mesh: "dp=2", ["--rank-fraction", "1/8", "--sync", "uncompressed"])
        Self.expectClose(alone, uncompressed, "--sync uncompressed on dp=2")
    }
}
