import LinearAlgebra

/// Where a `TransformerModel` gets this rank's weights and where it sends their gradients.
///
/// A single process serves whole matrices from memory (`InMemoryParameters`); the training job
/// all-gathers each block's FSDP shards when asked (and drops them afterwards) and
/// reduce-scatters the gradients it receives, so the model code is the same on every mesh.
///
/// Every requirement throws `TransformerError`: a source whose collective fails throws
/// `.communication` with the `MPIError` (`TransformerError.init(communication:while:)`).
public protocol ParameterSource {
    /// This rank's tensor-parallel slice of the parameters `ids` (whole over every other
    /// axis), in the order asked. Asked once per block for the forward and again for the backward.
    mutating func weights(_ ids: [ParameterID]) throws(TransformerError) -> [Matrix]
    /// Receives the gradients (shaped like `weights`) of one block, once per forward/backward.
    mutating func accumulateGradients(_ gradients: [(id: ParameterID, gradient: Matrix)]) throws(TransformerError)
    /// Sums `values` over the tensor-parallel group; the identity without tensor parallelism.
    func allReduceTensorParallel(_ values: inout [Float]) throws(TransformerError)
    /// A hint that `weights(ids)` is among the next requests: a source that gathers weights may
    /// start fetching them now, behind the compute in between. Hints come in the order of the
    /// requests, at most one per request and a fixed number ahead of them (`WeightRequests`); the
    /// default does nothing.
    mutating func prefetch(_ ids: [ParameterID]) throws(TransformerError)
    /// Called between kernels so that a source with collectives in flight can drive them (MPI
    /// progresses nonblocking collectives only inside MPI calls); the default does nothing.
    mutating func progress() throws(TransformerError)
}

extension ParameterSource {
    public mutating func prefetch(_ ids: [ParameterID]) throws(TransformerError) {}
    public mutating func progress() throws(TransformerError) {}
}

/// Whole weights in memory and their accumulated gradients: a single process without tensor
/// parallelism, the reference every mesh is compared with.
public struct InMemoryParameters: ParameterSource {
    /// The weights, at their parameters' positions (`ParameterID.rawValue`).
    public var values: [Matrix]
    /// The accumulated gradients, at the same positions.
    public var gradients: [Matrix]

    public init(_ values: [Matrix]) {
        self.values = values
        gradients = values.map { Matrix(rows: $0.rows, columns: $0.columns) }
    }

    public mutating func weights(_ ids: [ParameterID]) throws(TransformerError) -> [Matrix] { ids.map { values[$0.rawValue] } }

    public mutating func accumulateGradients(_ list: [(id: ParameterID, gradient: Matrix)]) throws(TransformerError) {
        for (id, gradient) in list {
            try TransformerError.arithmetic { () throws(LinearAlgebraError) in try BLAS.axpy(1, gradient, &gradients[id.rawValue]) }
        }
    }

    public func allReduceTensorParallel(_ values: inout [Float]) throws(TransformerError) {}

    /// Sets every gradient to zero.
    public mutating func zeroGradients() {
        for i in gradients.indices { gradients[i] = Matrix(rows: gradients[i].rows, columns: gradients[i].columns) }
    }
}
