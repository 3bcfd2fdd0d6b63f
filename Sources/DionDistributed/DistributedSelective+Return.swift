import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

extension DistributedSelective {
    /// Polar Express on each owner (global: after taking the exact top-k of the assembled matrix),
    /// in the single-process orientation; phase 6 all-gathers O of the unsharded matrices.
    func orthogonalizeOnOwners(_ items: inout [Item], _ mesh: DeviceMesh) throws {
        let shape = mesh.shape
        for j in items.indices {
            let unsharded = items[j].schedule.slices == nil && items[j].schedule.across == nil
            if rule.routing == .global && (items[j].isOwner || unsharded) {
                items[j].select(SliceSelection.topK(items[j].piece.rowL1Norms, count: items[j].k), mesh: shape)
                items[j].piece = items[j].piece.rows(at: items[j].selected)
            }
            guard items[j].isOwner else { continue }
            let rows = items[j].schedule.dimension == .rows
            let u = rows ? items[j].piece : items[j].piece.transposed
            let o = try NewtonSchulz.orthogonalize(u, coefficients: .polarExpress, epsilon: rule.epsilon)
            items[j].piece = rows ? o : o.transposed
        }
        let unsharded = items.indices.filter { items[$0].schedule.slices == nil && items[$0].schedule.across == nil }
        guard !unsharded.isEmpty, mesh.world.size > 1 else { return }
        var counts = [Int](repeating: 0, count: mesh.world.size)
        for j in unsharded { counts[items[j].owner] += items[j].k * items[j].schedule.q }
        let all = try mesh.world.allGather(unsharded.filter { items[$0].isOwner }.flatMap { items[$0].piece.elements },
                                           counts: counts, wire: rule.wire)
        var starts = [Int](repeating: 0, count: counts.count)
        for w in 1..<max(counts.count, 1) { starts[w] = starts[w - 1] + counts[w - 1] }
        for j in unsharded {
            let size = items[j].k * items[j].schedule.q
            let start = starts[items[j].owner]
            starts[items[j].owner] += size
            items[j].piece = try Matrix(rows: items[j].k, columns: items[j].schedule.q, elements: Array(all[start..<(start + size)]))
        }
    }

    /// Phases 7–8: O back from the owner over `slices`, then from the stage owner over `across`;
    /// with `global` the k selected indices (Int32) travel first, and the decay waits for them.
    func routeBack(_ items: inout [Item], _ states: inout [State], _ mesh: DeviceMesh) throws {
        let shape = mesh.shape
        let global = rule.routing == .global
        var indices = BatchedExchange<Int32>(mesh: mesh)
        var data = BatchedExchange<Float>(mesh: mesh, wire: rule.wire)
        if global {
            for (j, item) in items.enumerated() {
                guard let axis = item.schedule.slices else { continue }
                if item.isOwner { for r in 0..<shape.size(of: axis) { indices.send(axis, to: r, item.selected.map { Int32($0) }) } }
                indices.expect(axis, from: item.ownerSlices, matrix: j, count: item.holder ? item.k : 0)
            }
            let received = try indices.run()
            for j in items.indices where items[j].schedule.slices != nil && items[j].holder && !items[j].isOwner {
                items[j].select((received[j]?[items[j].ownerSlices] ?? []).map { Int($0) }, mesh: shape)
            }
        }
        for (j, item) in items.enumerated() {
            guard let axis = item.schedule.slices else { continue }
            if item.isOwner {
                var start = 0
                for (r, count) in item.perShard.enumerated() {
                    data.send(axis, to: r, Array(item.piece.elements[(start * item.schedule.q)..<((start + count) * item.schedule.q)]))
                    start += count
                }
            }
            let mine = item.holder ? item.perShard[item.slice] * item.schedule.q : 0
            data.expect(axis, from: item.ownerSlices, matrix: j, count: mine)
        }
        let back = try data.run()
        for j in items.indices where items[j].schedule.slices != nil && items[j].holder {
            let elements = back[j]?[items[j].ownerSlices] ?? []
            items[j].piece = try Matrix(rows: elements.count / items[j].schedule.q, columns: items[j].schedule.q, elements: elements)
        }
        if global {
            for (j, item) in items.enumerated() {
                guard let axis = item.schedule.across else { continue }
                if item.holder { for r in 0..<shape.size(of: axis) { indices.send(axis, to: r, item.selected.map { Int32($0) }) } }
                indices.expect(axis, from: item.ownerAcross, matrix: j, count: item.k)
            }
            let received = try indices.run()
            for j in items.indices where items[j].schedule.across != nil && !items[j].holder {
                items[j].select((received[j]?[items[j].ownerAcross] ?? []).map { Int($0) }, mesh: shape)
            }
        }
        for (j, item) in items.enumerated() {
            guard let axis = item.schedule.across else { continue }
            let widths = item.schedule.acrossShards(shape)
            if item.holder {
                var start = 0
                for (r, width) in widths.enumerated() {
                    data.send(axis, to: r, item.piece.columns(start..<(start + width)).elements)
                    start += width
                }
            }
            data.expect(axis, from: item.ownerAcross, matrix: j, count: item.offsets.count * widths[item.across])
        }
        let split = try data.run()
        for j in items.indices where items[j].schedule.across != nil {
            items[j].piece = try Matrix(rows: items[j].offsets.count, columns: items[j].qRange.count,
                                        elements: split[j]?[items[j].ownerAcross] ?? [])
        }
        for j in items.indices where global { decay(items[j], &states[items[j].index]) }
    }

    /// Phases 9–10 (NorMuon, NorDion2): V of the selected rows from their whole-row means, Ô = O/(√V + ε),
    /// then Ô ← Ô·‖O‖_F/‖Ô‖_F over the whole (selected) matrix.
    func normalize(_ updates: inout [Matrix], _ items: [Item], _ states: inout [State], _ mesh: DeviceMesh) throws {
        guard let beta2 = rule.beta2 else { return }
        var rowSums = updates.map(\.rowSumsOfSquares)
        let before = rowSums.map { $0.reduce(0, +) }
        for axis in [MeshAxis.fsdp, .tp] {
            try ConcatenatedCollective.allReduce(&rowSums, where: items.map { $0.schedule.across == axis },
                                                 over: mesh.communicator(axis), op: .sum)
        }
        var norms = [[Double]]()
        for (j, item) in items.enumerated() {
            var after = 0.0
            let width = updates[j].columns
            for (slot, row) in item.offsets.enumerated() {
                let i = item.index
                let v = NeuronNormalization.updatedVariance(states[i].variance.elements[row], rowSumOfSquares: rowSums[j][slot],
                                                            width: item.schedule.q, beta2: beta2)
                states[i].variance.elements[row] = v
                let divisor = NeuronNormalization.divisor(variance: v)
                for c in 0..<width {
                    let value = updates[j].elements[slot * width + c] / divisor
                    updates[j].elements[slot * width + c] = value
                    after += Double(value) * Double(value)
                }
            }
            norms.append([before[j], after])
        }
        for axis in [MeshAxis.fsdp, .tp] {
            try ConcatenatedCollective.allReduce(&norms, where: items.map { $0.schedule.slices == axis || $0.schedule.across == axis },
                                                 over: mesh.communicator(axis), op: .sum)
        }
        for j in updates.indices {
            updates[j].scale(NeuronNormalization.rescaleFactor(sumOfSquaresBefore: norms[j][0], after: norms[j][1]))
        }
    }

    /// X ← (1 − ηλ)·X, then X[S] −= η_adj·O on this rank's block (NorMuon: every row, with the
    /// optional cautious decay).
    func apply(_ o: Matrix, _ item: Item, _ x: inout ShardedMatrix, _ state: inout State, _ eta: Float) throws {
        let step = -eta * rule.adjustment.factor(rows: x.rows, columns: x.columns)
        let decay = 1 - eta * rule.weightDecay
        // On this rank's block, in place.
        if rule.kind == .norMuon {
            if rule.cautiousWeightDecay {
                for i in x.block.elements.indices {
                    let keep: Float = x.block.elements[i] * o.elements[i] >= 0 ? decay : 1
                    x.block.elements[i] = keep * x.block.elements[i] + step * o.elements[i]
                }
            } else {
                x.block.scaleAndAdd(decay, step, o)
            }
        } else {
            x.block.scale(decay)
            if state.dimension == .rows {
                x.block.addRows(at: item.offsets, step, o)
            } else {
                x.block.addColumns(at: item.offsets, step, o.transposed)
            }
        }
        state.selected = rule.routing == .whole ? [] : item.selected
        state.step += 1
    }
}

extension Matrix {
    /// Σ_j a_ij² for every row, in Double.
    var rowSumsOfSquares: [Double] {
        (0..<rows).map { i in (0..<columns).reduce(0.0) { $0 + Double(elements[i * columns + $1]) * Double(elements[i * columns + $1]) } }
    }
}
