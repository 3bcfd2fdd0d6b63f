/// Dion's sizes as functions of shapes alone, written once: the rank for a rank fraction and the
/// sketch height of randomized Cholesky QR. The single-process optimizer, the distributed step,
/// the step plans and the cluster model all call these.
public enum DionSizes {
    /// r = max(1, min(min(m, n), k·⌈ρ·min(m, n)/k⌉)) for a rank fraction ρ in (0, 1] and a rank
    /// multiple k ≥ 1.
    public static func rank(fraction rho: Double, rows m: Int, columns n: Int, multipleOf k: Int = 1) -> Int {
        let small = Swift.min(m, n)
        return Swift.max(1, Swift.min(small, k * Int((rho * Double(small) / Double(k)).rounded(.up))))
    }

    /// Sketch rows for rank r: k_s = 128·⌈1.25·r/128⌉ (the reference's `rcqr_oversample` = 1.25).
    public static func sketchRows(rank r: Int) -> Int { 128 * Int((1.25 * Double(r) / 128).rounded(.up)) }
}
