/// How Dion2 and NorDion2 choose their slices when a matrix is sharded over ranks (issue 16).
///
/// On one process every mode selects the same set, the exact top-k of the whole matrix: the
/// modes differ only in what a distributed step sends, so the single-process optimizers accept
/// all three and behave identically.
public enum SelectionMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The exact whole-matrix top-k, learned from one L1 score per slice; only the selected
    /// slices cross the network (the default).
    case exact
    /// The reference's `global` scope: whole shards cross and the owner takes the exact top-k.
    case global
    /// The reference's `local` scope: the union of every shard's own top-k (depends on the mesh).
    case local

    /// The mode named `text`.
    ///
    /// - Throws: `OptimizerError.invalidHyperparameter` naming the accepted values.
    public static func parse(_ text: String) throws(OptimizerError) -> SelectionMode {
        guard let mode = SelectionMode(rawValue: text) else {
            throw OptimizerError(.invalidHyperparameter, "unknown selection '\(text)'; use "
                                 + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return mode
    }
}
