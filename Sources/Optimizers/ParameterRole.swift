/// What a parameter is, which decides its optimizer and learning rate (§1.2).
public enum ParameterRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// A 2-D weight inside the network: Dion, Muon, Dion2, NorMuon or NorDion2.
    case matrix
    /// The token embedding: the scalar optimizer at the base learning rate.
    case embedding
    /// The output head (unembedding): the scalar optimizer; lr/√d_in with Lion, the base lr with AdamW.
    case head
    /// A norm gain: the scalar optimizer at the base learning rate.
    case norm
    /// A bias: the scalar optimizer at the base learning rate.
    case bias

    /// The role from an optional name and the shape. Names win: `embed` → embedding,
    /// `head`/`unembed`/`lm_head` → head, `norm` → norm, `bias` → bias; otherwise 1-D tensors are
    /// biases/gains and 2-D ones matrices.
    ///
    /// - Throws: `OptimizerError.unsupportedTensor` for tensors of 0 or more than 2 dimensions.
    public static func infer(name: String?, shape: [Int]) throws(OptimizerError) -> ParameterRole {
        guard (1...2).contains(shape.count) else {
            throw OptimizerError(.unsupportedTensor, "\(name ?? "a parameter") has \(shape.count) dimensions \(shape); "
                                 + "Dion and Muon take 2-D matrices and the scalar optimizers 1-D or 2-D tensors — "
                                 + "reshape it (e.g. a convolution to out × rest) first")
        }
        let lower = name?.lowercased() ?? ""
        if lower.contains("embed") && !lower.contains("unembed") { return .embedding }
        if lower.contains("head") || lower.contains("unembed") { return .head }
        if lower.contains("norm") { return .norm }
        if lower.contains("bias") { return .bias }
        return shape.count == 2 ? .matrix : .bias
    }
}

/// The optimizer family a parameter goes to.
public enum OptimizerFamily: String, Sendable, Hashable, Codable {
    case dion, muon, adamw, lion, dion2, normuon, nordion2

    /// Whether the family makes orthonormal (Polar Express / power-iteration) updates, which suit
    /// hidden matrices and not embeddings or output heads.
    public var isOrthonormal: Bool {
        switch self {
        case .dion, .muon, .dion2, .normuon, .nordion2: true
        case .adamw, .lion: false
        }
    }
}

/// A parameter's optimizer and learning rate, with a warning when the choice is a known mistake.
public struct ParameterAssignment: Sendable, Hashable {
    public let role: ParameterRole
    public let family: OptimizerFamily
    public let learningRate: Float
    /// Set when the assignment is legal but probably wrong (a 2-D embedding or head through an
    /// orthonormal-update family).
    public let warning: String?

    /// Assigns `role` given the matrix optimizer, the scalar optimizer and the base learning rate.
    /// `override` forces a family (the caller's explicit choice); `inputDimension` is the head's d_in.
    public static func assign(name: String, role: ParameterRole, matrixOptimizer: OptimizerFamily,
                              scalarOptimizer: OptimizerFamily, baseLearningRate: Float, inputDimension: Int,
                              override: OptimizerFamily? = nil) -> ParameterAssignment {
        let family = override ?? (role == .matrix ? matrixOptimizer : scalarOptimizer)
        var lr = baseLearningRate
        if role == .head && family == .lion { lr = baseLearningRate / Float(Swift.max(1, inputDimension)).squareRoot() }
        var warning: String?
        if (role == .embedding || role == .head) && family.isOrthonormal {
            warning = "\(name) is the \(role.rawValue) but goes to \(family.rawValue): embeddings and output heads train "
                + "badly with orthonormal updates (the most common mistake with the reference); use adamw or lion"
        }
        return ParameterAssignment(role: role, family: family, learningRate: lr, warning: warning)
    }
}
