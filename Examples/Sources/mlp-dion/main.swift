// Your model, your training loop, dion-swift's distributed optimizers: a two-layer MLP on a
// synthetic regression task, its parameters sharded on a dp × fsdp mesh, the weight matrices
// stepped by Dion and the biases by AdamW. Rank 0 prints the loss of every step; the losses are
// the same on 1, 2 and 4 ranks (Scripts/test-examples.sh checks it).
//
//   swift build --product mlp-dion
//   source ../Scripts/mpi-env.sh && mpirun -np 4 .build/debug/mlp-dion [--mesh dp=2,fsdp=2] [--steps 20] [--batch 64]
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

FailFast.run {
    let options = try Options(parsing: Array(CommandLine.arguments.dropFirst()))
    let world = try MPIRuntime.world()
    let mesh = try DeviceMesh(shape: options.mesh ?? Options.defaultMesh(processes: world.size), world: world)
    guard mesh.shape.tp == 1 else { throw OptionsError(description: "this example has no tensor-parallel layers; use tp=1") }
    // Data-parallel ranks (dp × fsdp of them) each take an equal slice of every step's batch.
    let replicas = mesh.shape.replicate * mesh.shape.fsdp
    guard options.batch % replicas == 0 else {
        throw OptionsError(description: "--batch \(options.batch) is not a multiple of dp·fsdp = \(replicas)")
    }
    let replica = mesh.index(on: .replicate) * mesh.shape.fsdp + mesh.index(on: .fsdp)
    let perRank = options.batch / replicas
    let mySamples = (replica * perRank)..<((replica + 1) * perRank)

    let task = SyntheticRegression(inputs: 32, outputs: 8, seed: 7)
    var model = try TwoLayerMLP(inputs: 32, hidden: 64, outputs: 8, seed: 11, mesh: mesh)

    // Dion (rank r = ρ·min(m, n), ρ = 1/4) for the weight matrices, AdamW for the biases. Both
    // average the gradients over dp themselves; Q₀ and the sketches come from the keyed generator.
    let dion = DistributedDion(try DionConfiguration(momentum: 0.95, weightDecay: 0, rank: .fraction(0.25), seed: 3))
    let adamw = DistributedElementwise(AdamW(try AdamW.Configuration(beta1: 0.9, beta2: 0.95, weightDecay: 0)))
    var dionStates = [try dion.initialState(for: model.w1, parameterID: 0, mesh: mesh, transposed: model.w1Transposed),
                      try dion.initialState(for: model.w2, parameterID: 1, mesh: mesh, transposed: model.w2Transposed)]
    var b1State = try adamw.initialState(for: model.b1)
    var b2State = try adamw.initialState(for: model.b2)
    if world.rank == 0 {
        print("mlp-dion: 32 → 64 → 8 MLP, batch \(options.batch), mesh \(mesh.shape), \(world.size) processes")
    }

    for step in 0..<options.steps {
        let (x, y) = try task.batch(step: step, batch: options.batch, samples: mySamples)
        // Forward and backward on this rank's samples; gradients reduce-scattered over fsdp.
        let (loss, g) = try model.lossAndGradients(x: x, y: y, mesh: mesh)
        // Dion steps both weight matrices as one batch (each collective once); AdamW the biases.
        var weights = [model.w1, model.w2]
        let outcomes = try dion.step(parameters: &weights, gradients: [g.w1, g.w2], states: &dionStates,
                                     learningRates: [0.05, 0.05], mesh: mesh)
        (model.w1, model.w2) = (weights[0], weights[1])
        let b1Outcome = try adamw.step(parameter: &model.b1, gradient: g.b1, state: &b1State, learningRate: 0.01, mesh: mesh)
        let b2Outcome = try adamw.step(parameter: &model.b2, gradient: g.b2, state: &b2State, learningRate: 0.01, mesh: mesh)
        if world.rank == 0 {
            print(String(format: "step %3d/%d | loss %.9e", step + 1, options.steps, loss))
            for outcome in outcomes + [b1Outcome, b2Outcome] where outcome != .applied { print("  \(outcome)") }
        }
    }

    if world.rank == 0 {
        print("rank 0 per step, every collective of the loop (from the ledger):")
        for (label, totals) in CommunicationLedger.shared.totalsByCommunicator().sorted(by: { $0.key < $1.key }) {
            print("  " + label.padding(toLength: 5, withPad: " ", startingAt: 0)
                  + String(format: " %9.1f bytes sent in %5.1f collectives", Double(totals.bytesSent) / Double(options.steps),
                           Double(totals.calls) / Double(options.steps)))
        }
    }
}
