import DionCore

/// The optimizers the model compares (`OptimizerChoice`, parsed once for every command).
public typealias SimulatedOptimizer = OptimizerChoice

/// Per-rank cost of one optimizer step for a whole model on a mesh: bytes per axis (including the
/// data-parallel gradient synchronization the optimizer needs, so optimizers compare like for like;
/// the FSDP/TP parameter all-gathers of the forward and backward are the same for all and left out),
/// communication time on the preset's links, and compute time.
public struct OptimizerCost: Sendable {
    public var bytesByAxis: [String: Double] = ["dp": 0, "fsdp": 0, "tp": 0]
    public var commSeconds = 0.0
    public var computeSeconds = 0.0

    public var bytesSent: Double { bytesByAxis.values.reduce(0, +) }

    mutating func add(_ op: CollectiveTime.Operation, _ axis: MeshAxis, elements: Double, bytesPerElement: Double = 4,
                      count: Int, mesh: MeshShape, network: NetworkPreset) {
        let g = mesh.size(of: axis)
        guard g > 1, elements > 0 else { return }
        let fraction = Double(g - 1) / Double(g)
        let bytes = elements * bytesPerElement
        let sent = (op == .allReduce ? 2 * fraction : fraction) * bytes
        bytesByAxis[axis.label, default: 0] += sent * Double(count)
        let (bandwidth, latency) = network.link(axis, mesh: mesh)
        commSeconds += CollectiveTime.seconds(op, bytes: bytes, ranks: g, bandwidth: bandwidth, latency: latency) * Double(count)
    }

    /// The cost of `optimizer` on `model` over `mesh`.
    /// `wire` is the format of the orthogonalized matrices' all-to-alls and all-gathers (Muon, Dion2,
    /// NorMuon, NorDion2; the reference sends bf16).
    public static func estimate(_ optimizer: SimulatedOptimizer, model: ModelDescription, mesh: MeshShape,
                                network: NetworkPreset, wire: WirePrecision = .fp32) -> OptimizerCost {
        var cost = OptimizerCost()
        let wireBytes = Double(wire.elementSize)
        let (R, F, T) = (Double(mesh.replicate), Double(mesh.fsdp), Double(mesh.tp))
        for group in model.matrices {
            let (m, n, count) = (Double(group.rows), Double(group.columns), group.count)
            let local = m * n / (F * T)
            if group.scalarOptimizer || optimizer == .adamw {
                // Elementwise: the gradient all-reduce over dp; ≈ 28 bytes of memory traffic per element.
                cost.add(.allReduce, .replicate, elements: local, count: count, mesh: mesh, network: network)
                cost.computeSeconds += 28 * local * Double(count) / network.memoryBandwidth
                continue
            }
            switch optimizer {
            case .adamw:
                break
            case .muon, .norMuon, .dion2, .norDion2:
                // The reference's mega-batch (algorithms §4.5): NorMuon moves what Muon moves; Dion2 and NorDion2
                // (local scope) move and orthogonalize the fraction α of it.
                let share = optimizer.selectionFraction ?? 1
                cost.add(.allReduce, .replicate, elements: local, count: count, mesh: mesh, network: network)
                if mesh.fsdp > 1 {
                    // All-to-all owner scheme over a batch of F matrices: each rank sends (F−1)/F of its
                    // shards away and gets (F−1)/F of one whole matrix back, per F matrices.
                    cost.add(.allToAll, .fsdp, elements: share * m * n / (F * T), bytesPerElement: wireBytes, count: count,
                             mesh: mesh, network: network)
                    cost.add(.allToAll, .fsdp, elements: share * m * n / (F * T), bytesPerElement: wireBytes, count: count,
                             mesh: mesh, network: network)
                } else if mesh.replicate > 1 {
                    // Replicated round robin: each rank orthogonalizes 1/R of the matrices, then all-gather.
                    cost.add(.allGather, .replicate, elements: share * m * n / T, bytesPerElement: wireBytes, count: count,
                             mesh: mesh, network: network)
                }
                if mesh.tp > 1 {
                    cost.add(.allGather, .tp, elements: share * m * n / F, bytesPerElement: wireBytes, count: count,
                             mesh: mesh, network: network)
                }
                let (a, b) = (min(m, n), max(m, n))
                let flops = 5 * (4 * a * a * b + 2 * a * a * a)
                // Newton–Schulz runs on whole matrices, shared over all ranks of the mesh.
                cost.computeSeconds += share * flops * Double(count) / (R * F * T) / network.deviceFlops
            case .dion(let rho):
                let small = min(m, n)
                let r = max(1, min(small, (rho * small).rounded(.up)))
                // FSDP on dim 0 makes the work matrix Mᵀ: p = n, q = m (§2); unsharded: p = max.
                let (p, q) = mesh.fsdp > 1 || mesh.tp > 1 ? (n, m) : (max(m, n), small)
                let ks = 128 * (1.25 * r / 128).rounded(.up)
                // Compressed sync (§2.2): P and R averaged over dp instead of the gradient — (p + q)·r/F per
                // matrix when the FSDP batch spreads P over F ranks, (p/T)·r + (q/F)·r under TP. The
                // reference turns it on whenever ρ < 1 and (m + n)·r < m·n; here it is used only when it
                // also moves fewer bytes than the sharded gradient m·n/(F·T) (with F·T large it does not).
                let compressedElements = T == 1 ? (p + q) * r / F : (p / T) * r + (q / F) * r
                let compressed = mesh.replicate > 1 && rho < 1 && (m + n) * r < m * n && compressedElements < local
                cost.add(.allReduce, .replicate, elements: compressed ? compressedElements : local, count: count,
                         mesh: mesh, network: network)
                if mesh.fsdp > 1 {
                    // P₀ reduce-scattered then Orth(P) all-gathered over the batch: 2(F−1)/F·(p/T)·r, and the
                    // 1×r column sums of squares in fp64.
                    cost.add(.allReduce, .fsdp, elements: (p / T) * r, count: count, mesh: mesh, network: network)
                    cost.add(.allReduce, .fsdp, elements: r, bytesPerElement: 8, count: count, mesh: mesh, network: network)
                }
                if mesh.tp > 1 {
                    cost.add(.allGather, .tp, elements: (q / F) * r, count: count, mesh: mesh, network: network)
                    cost.add(.reduceScatter, .tp, elements: ks * r + 3 * r * r, count: count, mesh: mesh, network: network)
                    cost.add(.allReduce, .tp, elements: (q / F) * r, count: count, mesh: mesh, network: network)
                }
                let flops = 8 * m * n * r + 2 * ks * p * r + 6 * p * r * r
                cost.computeSeconds += flops * Double(count) / (F * T) / network.deviceFlops
            }
        }
        return cost
    }
}
