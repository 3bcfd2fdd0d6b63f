import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

extension DistributedSelective {
    /// One matrix of a step on this rank: its schedule, owner, place in the owner group, and the
    /// work-orientation (W) blocks it holds as the step goes.
    struct Item {
        let index: Int
        let schedule: SelectiveSchedule
        let k: Int
        /// The global slices and slice positions this rank's block covers.
        let pRange: Range<Int>
        let qRange: Range<Int>
        /// This rank's block of W (the buffer, or NorMuon's Nesterov U); emptied once its slices are
        /// taken, so that the decay updates the buffer it may share storage with in place.
        var w: Matrix
        var owner = 0
        var ownerSlices = 0, ownerAcross = 0
        var slice = 0, across = 0
        /// Holds whole-width slices after the `across` stage; orthogonalizes.
        var holder = false, isOwner = false
        /// Selected slices, global and ascending (see `State.selected`), their offsets in this block,
        /// and how many each shard of the slices has.
        var selected: [Int] = []
        var offsets: [Int] = []
        var perShard: [Int] = []
        /// What this rank holds of U, then of O (W orientation).
        var piece = Matrix(rows: 0, columns: 0)

        func routed(_ shard: Int, _ mesh: MeshShape, _ routing: SelectiveRouting) -> Int {
            routing == .global || routing == .whole ? schedule.sliceShards(mesh)[shard] : perShard[shard]
        }

        mutating func select(_ indices: [Int], mesh: MeshShape) {
            selected = indices
            offsets = indices.filter { pRange.contains($0) }.map { $0 - pRange.lowerBound }
            perShard = schedule.countsPerShard(of: indices, mesh: mesh)
        }
    }

    /// The batched step (see the type's discussion; `StepPlan.selective` lists its collectives).
    func step(_ xs: inout [ShardedMatrix], _ gs: [ShardedMatrix], _ states: inout [State], _ etas: [Float],
              mesh: DeviceMesh) throws(OptimizerError) -> [StepOutcome] {
        guard gs.count == xs.count, states.count == xs.count, etas.count == xs.count else {
            throw OptimizerError(.shapeMismatch, "a batched step needs one gradient, state and learning rate per parameter: "
                                 + "\(xs.count) parameters, \(gs.count) gradients, \(states.count) states, \(etas.count) rates")
        }
        guard !xs.isEmpty else { return [] }
        return try ShardedStepSupport.run("\(rule.kind.displayName)'s step") { () throws -> [StepOutcome] in
            let skipped = try ShardedStepSupport.agreeOnFiniteness(gs, like: xs, policy: rule.nonFinitePolicy, mesh: mesh,
                                                                   agreedByCaller: finitenessAgreedByCaller)
            let active = xs.indices.filter { skipped[$0] == nil }
            var gradients = active.map { gs[$0].local }
            if !gradientsAveragedByCaller && mesh.shape.replicate > 1 {
                try ConcatenatedCollective.allReduce(&gradients, where: gradients.map { _ in true },
                                                     over: mesh.communicator(.replicate), op: .average)
            }
            var items = try active.indices.map { a in try makeItem(active[a], gradients[a], xs[active[a]], &states, mesh) }
            let owners = SelectiveSchedule.owners(items.map(\.schedule), selected: items.map(\.k), mesh: mesh.shape)
            for j in items.indices { place(&items[j], owner: owners[j], mesh) }
            try selectAndRoute(&items, &states, mesh)
            try orthogonalizeOnOwners(&items, mesh)
            try routeBack(&items, &states, mesh)
            var updates = items.map(\.piece)
            if rule.beta2 != nil { try normalize(&updates, items, &states, mesh) }
            for (j, item) in items.enumerated() { try apply(updates[j], item, &xs[item.index], &states[item.index], etas[item.index]) }
            return xs.indices.map { skipped[$0] ?? .applied }
        }
    }

    private func makeItem(_ i: Int, _ gradient: [Float], _ x: ShardedMatrix, _ states: inout [State],
                          _ mesh: DeviceMesh) throws -> Item {
        let g = try Matrix(rows: x.localRows, columns: x.localColumns, elements: gradient)
        var source: Matrix
        if rule.kind == .norMuon {
            states[i].momentum.scaleAndAdd(rule.momentum, 1, g)
            source = states[i].momentum
            if rule.nesterov {
                source = g
                source.scaleAndAdd(1, rule.momentum, states[i].momentum)
            }
        } else {
            try BLAS.axpy(1, g, &states[i].momentum)
            source = states[i].momentum
        }
        let rows = states[i].dimension == .rows
        let schedule = SelectiveSchedule(x.planned(), dimension: states[i].dimension, mesh: mesh.shape)
        return Item(index: i, schedule: schedule, k: selectedCount(schedule, mesh: mesh.shape),
                    pRange: rows ? x.rowRange : x.columnRange, qRange: rows ? x.columnRange : x.rowRange,
                    w: rows ? source : source.transposed)
    }

    private func place(_ item: inout Item, owner: Int, _ mesh: DeviceMesh) {
        let s = item.schedule
        item.owner = owner
        (item.ownerSlices, item.ownerAcross) = s.ownerCoordinates(owner, mesh: mesh.shape)
        item.slice = s.slices.map { mesh.index(on: $0) } ?? 0
        item.across = s.across.map { mesh.index(on: $0) } ?? 0
        item.holder = s.across == nil || item.across == item.ownerAcross
        if s.slices == nil && s.across == nil {
            item.isOwner = mesh.world.rank == owner
        } else {
            item.isOwner = item.holder && (s.slices == nil || item.slice == item.ownerSlices)
        }
    }

    /// Phases 2–5: scores and selection (exact, local), the error-feedback decay, and the routed
    /// slices to the owner.
    private func selectAndRoute(_ items: inout [Item], _ states: inout [State], _ mesh: DeviceMesh) throws {
        let shape = mesh.shape
        let routing = rule.routing
        if routing == .exact || routing == .local {
            var scores = items.map(\.w.rowL1Norms)
            for axis in [MeshAxis.fsdp, .tp] {
                try ConcatenatedCollective.allReduce(&scores, where: items.map { $0.schedule.across == axis },
                                                     over: mesh.communicator(axis), op: .sum)
            }
            if routing == .exact { try gatherScores(&scores, items, mesh) }
            for j in items.indices {
                let item = items[j]
                if routing == .exact {
                    items[j].select(SliceSelection.topK(scores[j], count: item.k), mesh: shape)
                } else {
                    let counts = item.schedule.localCounts(fraction: rule.fraction, mesh: shape)
                    items[j].select(SliceSelection.topK(scores[j], count: counts[item.slice]).map { $0 + item.pRange.lowerBound },
                                    mesh: shape)
                    items[j].perShard = counts
                }
                items[j].piece = items[j].w.rows(at: items[j].offsets)
                items[j].w = Matrix(rows: 0, columns: 0)
                decay(items[j], &states[items[j].index])
            }
        } else {
            for j in items.indices {
                items[j].piece = items[j].w
                items[j].w = Matrix(rows: 0, columns: 0)
                if routing == .whole {
                    items[j].select(Array(items[j].pRange), mesh: shape)
                    items[j].perShard = items[j].schedule.sliceShards(shape)
                }
            }
        }
        var exchange = BatchedExchange<Float>(mesh: mesh, wire: rule.wire)
        for (j, item) in items.enumerated() {
            guard let axis = item.schedule.across else { continue }
            exchange.send(axis, to: item.ownerAcross, item.piece.elements)
            guard item.holder else { continue }
            for (r, width) in item.schedule.acrossShards(shape).enumerated() {
                exchange.expect(axis, from: r, matrix: j, count: item.piece.rows * width)
            }
        }
        let across = try exchange.run()
        for j in items.indices where items[j].schedule.across != nil {
            let widths = items[j].schedule.acrossShards(shape)
            items[j].piece = items[j].holder
                ? try Self.besideEachOther((0..<widths.count).map { across[j]?[$0] ?? [] }, height: items[j].piece.rows, widths: widths)
                : Matrix(rows: 0, columns: items[j].schedule.q)
        }
        for (j, item) in items.enumerated() {
            guard let axis = item.schedule.slices else { continue }
            exchange.send(axis, to: item.ownerSlices, item.holder ? item.piece.elements : [])
            guard item.isOwner else { continue }
            for r in 0..<shape.size(of: axis) {
                exchange.expect(axis, from: r, matrix: j, count: item.routed(r, shape, routing) * item.schedule.q)
            }
        }
        let slices = try exchange.run()
        for j in items.indices where items[j].schedule.slices != nil && items[j].isOwner {
            let stacked = (0..<shape.size(of: items[j].schedule.slices ?? .fsdp)).flatMap { slices[j]?[$0] ?? [] }
            items[j].piece = try Matrix(rows: stacked.count / items[j].schedule.q, columns: items[j].schedule.q, elements: stacked)
        }
    }

    /// Phase 3: the whole-matrix scores, one all-gather of one fp64 per slice over each `slices` axis.
    private func gatherScores(_ scores: inout [[Double]], _ items: [Item], _ mesh: DeviceMesh) throws {
        for axis in [MeshAxis.fsdp, .tp] {
            let js = items.indices.filter { items[$0].schedule.slices == axis }
            guard !js.isEmpty else { continue }
            let g = mesh.shape.size(of: axis)
            let shards = js.map { items[$0].schedule.sliceShards(mesh.shape) }
            let counts = (0..<g).map { r in shards.reduce(0) { $0 + $1[r] } }
            let all = try mesh.communicator(axis).allGather(js.flatMap { scores[$0] }, counts: counts)
            var full = js.map { _ in [Double]() }
            var offset = 0
            for r in 0..<g {
                for (a, sizes) in shards.enumerated() {
                    full[a].append(contentsOf: all[offset..<(offset + sizes[r])])
                    offset += sizes[r]
                }
            }
            for (a, j) in js.enumerated() { scores[j] = full[a] }
        }
    }

    /// M[S] ← decay·M[S] on this rank's block (Dion2's β, NorDion2's μ; nothing for NorMuon).
    func decay(_ item: Item, _ state: inout State) {
        guard rule.kind != .norMuon else { return }
        if state.dimension == .rows {
            state.momentum.scaleRows(at: item.offsets, by: rule.decay)
        } else {
            state.momentum.scaleColumns(at: item.offsets, by: rule.decay)
        }
    }

    /// Row-major height × Σwidths from column blocks stored one after another.
    static func besideEachOther(_ pieces: [[Float]], height: Int, widths: [Int]) throws -> Matrix {
        let total = widths.reduce(0, +)
        var full = [Float](repeating: 0, count: height * total)
        var column = 0
        for (piece, width) in zip(pieces, widths) {
            for i in 0..<height {
                for j in 0..<width { full[i * total + column + j] = piece[i * width + j] }
            }
            column += width
        }
        return try Matrix(rows: height, columns: total, elements: full)
    }
}
