import MPIShim

extension ShardingError {
    /// A failed collective while building or using a mesh.
    init(_ error: MPIError) {
        self.init(communication: error)
    }
}
