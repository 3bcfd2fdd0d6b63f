import Testing
import MPIShim

/// The ring formulas against values worked out by hand.
@Suite("Ring cost formulas")
struct RingCostTests {
    @Test("all-reduce of N divisible by g moves 2(g−1)/g·N each way")
    func allReduceEven() {
        #expect(RingCost.allReduce(count: 1024, groupSize: 4, rank: 2) == TransferVolume(sent: 1536, received: 1536))
        #expect(RingCost.allReduce(count: 1024, groupSize: 2, rank: 0) == TransferVolume(sent: 1024, received: 1024))
        #expect(RingCost.allReduce(count: 1024, groupSize: 1, rank: 0) == TransferVolume(sent: 0, received: 0))
    }

    @Test("all-reduce of 7 over 4: blocks 2,2,2,1")
    func allReduceUneven() {
        // Rank 0 sends all blocks but 0 (5) then all but 1 (5): 10; receives all but 3 (6) and all but 0 (5): 11.
        #expect(RingCost.allReduce(count: 7, groupSize: 4, rank: 0) == TransferVolume(sent: 10, received: 11))
        // Rank 3 sends all but 3 (6) and all but 0 (5): 11; receives all but 2 (5) and all but 3 (6): 11.
        #expect(RingCost.allReduce(count: 7, groupSize: 4, rank: 3) == TransferVolume(sent: 11, received: 11))
        let total = (0..<4).map { RingCost.allReduce(count: 7, groupSize: 4, rank: $0).sent }.reduce(0, +)
        #expect(total == 2 * 3 * 7)
        #expect(RingCost.evenBlocks(total: 7, parts: 4) == [2, 2, 2, 1])
    }

    @Test("reduce-scatter and all-gather with uneven counts [1, 0, 3, 2]")
    func unevenBlocks() {
        let counts = [1, 0, 3, 2]
        // Reduce-scatter: rank r sends N − c_r, receives N − c_{r−1}.
        #expect(RingCost.reduceScatter(counts: counts, rank: 0) == TransferVolume(sent: 5, received: 4))
        #expect(RingCost.reduceScatter(counts: counts, rank: 1) == TransferVolume(sent: 6, received: 5))
        // All-gather: rank r receives N − c_r, sends N − c_{r+1}.
        #expect(RingCost.allGather(counts: counts, rank: 0) == TransferVolume(sent: 6, received: 5))
        #expect(RingCost.allGather(counts: counts, rank: 3) == TransferVolume(sent: 5, received: 4))
        #expect(RingCost.reduceScatter(blockCount: 5, groupSize: 4) == TransferVolume(sent: 15, received: 15))
        #expect(RingCost.allGather(blockCount: 5, groupSize: 1) == TransferVolume(sent: 0, received: 0))
    }

    @Test("broadcast along a chain and all-to-all")
    func broadcastAndAllToAll() {
        #expect(RingCost.broadcast(count: 10, groupSize: 4, rank: 1, root: 1) == TransferVolume(sent: 10, received: 0))
        #expect(RingCost.broadcast(count: 10, groupSize: 4, rank: 0, root: 1) == TransferVolume(sent: 0, received: 10))
        #expect(RingCost.broadcast(count: 10, groupSize: 4, rank: 2, root: 1) == TransferVolume(sent: 10, received: 10))
        #expect(RingCost.allToAll(sendCounts: [1, 2, 3], receiveCounts: [4, 5, 6], rank: 1)
                == TransferVolume(sent: 4, received: 10))
        #expect(RingCost.allToAll(blockCount: 3, groupSize: 4) == TransferVolume(sent: 9, received: 9))
        #expect(TransferVolume(sent: 3, received: 5).bytes(elementSize: 4) == TransferVolume(sent: 12, received: 20))
    }
}
