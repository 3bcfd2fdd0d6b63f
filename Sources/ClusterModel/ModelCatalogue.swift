import Foundation

/// A model as a list of weight matrices (m × n = out × in, with a count) plus vectors: what the
/// cluster model needs to price an optimizer step. Build one for your own model with
/// `init(name:matrices:vectorParameters:)` and `validated()`, take one from `catalogue`, or read
/// one from JSON (`fromJSON(_:)`).
public struct ModelDescription: Sendable, Hashable, Codable {
    /// `count` weight matrices of one shape.
    public struct MatrixGroup: Sendable, Hashable, Codable {
        /// The group's name (e.g. `mlp.up`), for error messages and reports.
        public let name: String
        /// m: the output dimension.
        public let rows: Int
        /// n: the input dimension.
        public let columns: Int
        /// How many matrices of this shape the model has (e.g. one per layer).
        public let count: Int
        /// Embeddings and output heads go to the scalar optimizer (AdamW), never Dion or Muon.
        public let scalarOptimizer: Bool

        /// `count` matrices of `rows × columns` (out × in); `scalarOptimizer` sends them to AdamW.
        public init(name: String, rows: Int, columns: Int, count: Int, scalarOptimizer: Bool = false) {
            self.name = name
            self.rows = rows
            self.columns = columns
            self.count = count
            self.scalarOptimizer = scalarOptimizer
        }
    }

    /// The model's name, printed in reports.
    public let name: String
    /// The weight matrices, in groups of one shape.
    public let matrices: [MatrixGroup]
    /// Parameters in vectors (norm gains, biases).
    public let vectorParameters: Int

    /// A model as its weight matrices and the number of parameters in vectors. Nothing is checked
    /// here; call `validated()` on a description a user wrote.
    ///
    /// - Parameters:
    ///   - name: the model's name, printed in reports.
    ///   - matrices: the weight matrices (out × in), in groups of one shape.
    ///   - vectorParameters: parameters in vectors (norm gains, biases); they only count toward
    ///     `parameters`.
    public init(name: String, matrices: [MatrixGroup], vectorParameters: Int = 0) {
        self.name = name
        self.matrices = matrices
        self.vectorParameters = vectorParameters
    }

    /// Every parameter: the matrices' elements times their counts, plus the vectors.
    public var parameters: Int { matrices.reduce(vectorParameters) { $0 + $1.rows * $1.columns * $1.count } }

    /// The largest dimension and count a description may hold, and the most parameters in total
    /// (2⁵³: every count stays exact in the Double arithmetic of the cost model).
    public static let maximumDimension = 1 << 24
    public static let maximumParameters = 1 << 53

    /// Checks what a user wrote: positive dimensions and counts within the limits, a total that
    /// does not overflow, and a name without control characters.
    ///
    /// - Throws: `ClusterModelError` naming the first offending group.
    public func validated() throws(ClusterModelError) -> ModelDescription {
        guard !matrices.isEmpty else { throw ClusterModelError("model '\(name)' has no matrices") }
        guard vectorParameters >= 0, vectorParameters <= Self.maximumParameters else {
            throw ClusterModelError("vectorParameters must be 0…2^53, got \(vectorParameters)")
        }
        var total = vectorParameters
        for group in matrices {
            for (what, value) in [("rows", group.rows), ("columns", group.columns), ("count", group.count)]
            where value < 1 || value > Self.maximumDimension {
                throw ClusterModelError("matrix group '\(group.name)': \(what) must be 1…\(Self.maximumDimension), got \(value)")
            }
            let (size, o1) = group.rows.multipliedReportingOverflow(by: group.columns)
            let (all, o2) = size.multipliedReportingOverflow(by: group.count)
            let (sum, o3) = total.addingReportingOverflow(all)
            guard !o1, !o2, !o3, sum <= Self.maximumParameters else {
                throw ClusterModelError("model '\(name)' has more than 2^53 parameters (at group '\(group.name)')")
            }
            total = sum
        }
        guard !(name + matrices.map(\.name).joined()).unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw ClusterModelError("model and group names must not contain control characters") }
        return self
    }

    /// A decoder-only transformer with grouped-query attention, a gated MLP and untied embeddings.
    static func transformer(name: String, layers: Int, model d: Int, kvDimension: Int, ffn: Int, vocabulary: Int,
                            gated: Bool) -> ModelDescription {
        var groups = [
            MatrixGroup(name: "attn.q", rows: d, columns: d, count: layers),
            MatrixGroup(name: "attn.k", rows: kvDimension, columns: d, count: layers),
            MatrixGroup(name: "attn.v", rows: kvDimension, columns: d, count: layers),
            MatrixGroup(name: "attn.o", rows: d, columns: d, count: layers),
            MatrixGroup(name: "mlp.up", rows: ffn, columns: d, count: layers),
            MatrixGroup(name: "mlp.down", rows: d, columns: ffn, count: layers),
        ]
        if gated { groups.append(MatrixGroup(name: "mlp.gate", rows: ffn, columns: d, count: layers)) }
        groups.append(MatrixGroup(name: "embed", rows: vocabulary, columns: d, count: 1, scalarOptimizer: true))
        groups.append(MatrixGroup(name: "head", rows: vocabulary, columns: d, count: 1, scalarOptimizer: true))
        return ModelDescription(name: name, matrices: groups, vectorParameters: (2 * layers + 1) * d)
    }

    /// The built-in models: the Dion reference repository's GPT-160M (12 layers, d 768, 12 heads,
    /// MLP 4d, vocabulary 50304, untied) and Llama 3 8B, 70B, 405B (Meta's published dimensions:
    /// d 4096/8192/16384, 32/80/126 layers, 8 KV heads of 128, SwiGLU 14336/28672/53248, vocabulary 128256),
    /// and `dion-train`, the default model of `dion train` (4 layers, d 128, MLP 4d, bytes).
    public static let catalogue: [ModelDescription] = [
        transformer(name: "dion-train", layers: 4, model: 128, kvDimension: 128, ffn: 512, vocabulary: 256, gated: false),
        transformer(name: "gpt-160m", layers: 12, model: 768, kvDimension: 768, ffn: 3072, vocabulary: 50304, gated: false),
        transformer(name: "llama3-8b", layers: 32, model: 4096, kvDimension: 1024, ffn: 14336, vocabulary: 128_256, gated: true),
        transformer(name: "llama3-70b", layers: 80, model: 8192, kvDimension: 1024, ffn: 28672, vocabulary: 128_256, gated: true),
        transformer(name: "llama3-405b", layers: 126, model: 16384, kvDimension: 1024, ffn: 53248, vocabulary: 128_256, gated: true),
    ]

    /// The catalogue model called `name`.
    public static func named(_ name: String) throws(ClusterModelError) -> ModelDescription {
        guard let model = catalogue.first(where: { $0.name == name }) else {
            throw ClusterModelError("unknown model '\(name)'; use one of \(catalogue.map(\.name).joined(separator: ", ")) "
                                    + "or --model-json")
        }
        return model
    }

    /// `MxN,MxN,…` as one matrix of each shape (like `dion bench comm --shapes`).
    public static func shapes(_ text: String) throws(ClusterModelError) -> ModelDescription {
        var groups: [MatrixGroup] = []
        for part in text.split(separator: ",") {
            let dims = part.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard dims.count == 2, let rows = dims[0], let columns = dims[1] else {
                throw ClusterModelError("bad shape '\(part)'; use MxN, e.g. 4096x1024")
            }
            groups.append(MatrixGroup(name: String(part), rows: rows, columns: columns, count: 1))
        }
        guard !groups.isEmpty else { throw ClusterModelError("--shapes is empty") }
        return try ModelDescription(name: "shapes", matrices: groups, vectorParameters: 0).validated()
    }

    /// A model from JSON: `{"name": …, "matrices": [{"name", "rows", "columns", "count", "scalarOptimizer"}],
    /// "vectorParameters": N}`.
    public static func fromJSON(_ data: Data) throws(ClusterModelError) -> ModelDescription {
        let model: ModelDescription
        do {
            model = try JSONDecoder().decode(ModelDescription.self, from: data)
        } catch {
            throw ClusterModelError("unreadable --model-json: \(error)")
        }
        return try model.validated()
    }
}
