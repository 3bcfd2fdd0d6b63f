/// Which optimizer updates the weight matrices, without its hyperparameters: the one list of
/// kinds that `dion train --optimizer` (`MatrixOptimizer` in Training), `OptimizerChoice` (`dion
/// bench comm`, `dion simulate`) and the JSON records share. The raw values are the command-line
/// and JSON spellings.
public enum OptimizerKind: String, Sendable, Hashable, Codable, CaseIterable {
    case dion, muon, adamw, dion2, normuon, nordion2

    /// Whether the optimizer selects a fraction α of the slices (`--fraction`, `--selection`):
    /// Dion2 and NorDion2.
    public var selectsSlices: Bool { self == .dion2 || self == .nordion2 }
}
