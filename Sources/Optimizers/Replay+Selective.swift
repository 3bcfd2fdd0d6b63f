import LinearAlgebra

extension Replay.Hyperparameters {
    /// Dion2's configuration: `fraction` (0.25), `ef_decay` (0.95), `weight_decay` (0.01),
    /// `epsilon` (1e-8), `adjust_lr` (`spectral_norm`), `selection` (`exact`).
    ///
    /// - Throws: `OptimizerError.invalidHyperparameter` for an unknown name, a value outside its
    ///   domain, or `nesterov`/`cautious_wd` set to true (Dion2 has neither).
    public func dion2Configuration() throws(OptimizerError) -> Dion2.Configuration {
        try refuse(nesterov, "nesterov", for: "dion2")
        try refuse(cautious_wd, "cautious_wd", for: "dion2")
        return try Dion2.Configuration(fraction: fraction ?? 0.25, errorFeedbackDecay: ef_decay ?? 0.95,
                                       weightDecay: weight_decay ?? 0.01, epsilon: epsilon ?? 1e-8,
                                       adjustment: try adjustment(), selection: try SelectionMode.parse(selection ?? "exact"))
    }

    /// NorMuon's configuration: `mu` (0.95), `muon_beta2` (0.95), `weight_decay` (0.01),
    /// `nesterov` (false), `cautious_wd` (false), `epsilon` (1e-8), `adjust_lr` (`spectral_norm`).
    ///
    /// - Throws: `OptimizerError.invalidHyperparameter` for an unknown name or a value outside its domain.
    public func norMuonConfiguration() throws(OptimizerError) -> NorMuon.Configuration {
        try NorMuon.Configuration(momentum: mu ?? 0.95, beta2: muon_beta2 ?? 0.95, weightDecay: weight_decay ?? 0.01,
                                  nesterov: nesterov ?? false, cautiousWeightDecay: cautious_wd ?? false,
                                  epsilon: epsilon ?? 1e-8, adjustment: try adjustment())
    }

    /// NorDion2's configuration: `fraction` (0.25), `mu` (0.95, the error-feedback decay),
    /// `muon_beta2` (0.95), `weight_decay` (0.01), `epsilon` (1e-8), `adjust_lr` (`spectral_norm`),
    /// `selection` (`exact`).
    ///
    /// - Throws: `OptimizerError.invalidHyperparameter` for an unknown name, a value outside its
    ///   domain, `ef_decay` (NorDion2's decay is `mu`), or `nesterov`/`cautious_wd` set to true.
    public func norDion2Configuration() throws(OptimizerError) -> NorDion2.Configuration {
        try refuse(nesterov, "nesterov", for: "nordion2")
        try refuse(cautious_wd, "cautious_wd", for: "nordion2")
        if ef_decay != nil {
            throw OptimizerError(.invalidHyperparameter, "nordion2 takes its error-feedback decay from mu, not ef_decay")
        }
        return try NorDion2.Configuration(fraction: fraction ?? 0.25, momentum: mu ?? 0.95, beta2: muon_beta2 ?? 0.95,
                                          weightDecay: weight_decay ?? 0.01, epsilon: epsilon ?? 1e-8,
                                          adjustment: try adjustment(),
                                          selection: try SelectionMode.parse(selection ?? "exact"))
    }

    private func adjustment() throws(OptimizerError) -> Muon.LearningRateAdjustment {
        guard let adjustment = Muon.LearningRateAdjustment(rawValue: adjust_lr ?? "spectral_norm") else {
            throw OptimizerError(.invalidHyperparameter, "unknown adjust_lr '\(adjust_lr ?? "")'; use "
                                 + Muon.LearningRateAdjustment.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return adjustment
    }

    private func refuse(_ flag: Bool?, _ name: String, for optimizer: String) throws(OptimizerError) {
        if flag == true {
            throw OptimizerError(.invalidHyperparameter, "\(optimizer) has no \(name) (neither has the reference's); "
                                 + "remove it or set it to false")
        }
    }
}

extension Replay {
    /// Replays Dion2, NorMuon or NorDion2 (`name`), recording X, M, the selected slices and V.
    static func runSelective(_ name: String, _ x: Matrix, _ gradients: [Matrix], _ lr: Float,
                             _ h: Hyperparameters) throws(OptimizerError) -> [StepRecord] {
        switch name {
        case "dion2":
            let dion2 = Dion2(try h.dion2Configuration())
            return try replay(dion2, x, try dion2.initialState(for: x), gradients, lr) {
                StepRecord(X: $0.nested, momentum: $1.momentum.nested, Q: nil, selected: $1.selected)
            }
        case "normuon":
            let normuon = NorMuon(try h.norMuonConfiguration())
            return try replay(normuon, x, try normuon.initialState(for: x), gradients, lr) {
                StepRecord(X: $0.nested, momentum: $1.momentum.nested, Q: nil, variance: $1.variance.elements)
            }
        default:
            let nordion2 = NorDion2(try h.norDion2Configuration())
            return try replay(nordion2, x, try nordion2.initialState(for: x), gradients, lr) {
                StepRecord(X: $0.nested, momentum: $1.momentum.nested, Q: nil, selected: $1.selected,
                           variance: $1.variance.elements)
            }
        }
    }
}
