/// A dense row-major `Float` matrix with value semantics (copy-on-write through its array).
public struct Matrix: Sendable, Equatable, CustomStringConvertible {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// The elements, row after row (`rows · columns`).
    public var elements: [Float]

    /// A matrix filled with `value`.
    public init(rows: Int, columns: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && columns >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        self.elements = [Float](repeating: value, count: rows * columns)
    }

    /// A matrix over `elements` (row-major).
    ///
    /// - Throws: `LinearAlgebraError.shapeMismatch` when the count is not `rows · columns`.
    public init(rows: Int, columns: Int, elements: [Float]) throws(LinearAlgebraError) {
        guard rows >= 0, columns >= 0, elements.count == rows * columns else {
            throw LinearAlgebraError(.shapeMismatch, "\(elements.count) elements cannot form a \(rows)×\(columns) matrix")
        }
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    /// A matrix from nested rows (all of one length).
    public init(_ nested: [[Float]]) throws(LinearAlgebraError) {
        let columns = nested.first?.count ?? 0
        guard nested.allSatisfy({ $0.count == columns }) else {
            throw LinearAlgebraError(.shapeMismatch, "rows of different lengths")
        }
        try self.init(rows: nested.count, columns: columns, elements: nested.flatMap { $0 })
    }

    /// The n×n identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.elements[i * n + i] = 1 }
        return m
    }

    /// Element (i, j).
    public subscript(i: Int, j: Int) -> Float {
        get { elements[i * columns + j] }
        set { elements[i * columns + j] = newValue }
    }

    /// The transpose.
    public var transposed: Matrix {
        var t = Matrix(rows: columns, columns: rows)
        for i in 0..<rows { for j in 0..<columns { t.elements[j * rows + i] = elements[i * columns + j] } }
        return t
    }

    /// The rows as nested arrays.
    public var nested: [[Float]] { (0..<rows).map { Array(elements[($0 * columns)..<(($0 + 1) * columns)]) } }

    /// Rows `range` as a new matrix.
    public func rows(_ range: Range<Int>) -> Matrix {
        var m = Matrix(rows: range.count, columns: columns)
        m.elements = Array(elements[(range.lowerBound * columns)..<(range.upperBound * columns)])
        return m
    }

    /// Columns `range` as a new matrix.
    public func columns(_ range: Range<Int>) -> Matrix {
        var m = Matrix(rows: rows, columns: range.count)
        for i in 0..<rows {
            for (k, j) in range.enumerated() { m.elements[i * range.count + k] = elements[i * columns + j] }
        }
        return m
    }

    /// Whether every element is finite (`Finiteness.allFinite`, one vectorized pass).
    public var isFinite: Bool { Finiteness.allFinite(elements) }

    /// Whether every element is zero.
    public var isZero: Bool { elements.allSatisfy { $0 == 0 } }

    public var description: String { "Matrix(\(rows)×\(columns))" }
}

extension Matrix: Codable {
    enum CodingKeys: String, CodingKey { case rows, columns, elements }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try c.decode(Int.self, forKey: .rows)
        let columns = try c.decode(Int.self, forKey: .columns)
        let elements = try c.decode([Float].self, forKey: .elements)
        guard rows >= 0, columns >= 0, elements.count == rows * columns else {
            throw DecodingError.dataCorruptedError(forKey: .elements, in: c, debugDescription: "element count does not match shape")
        }
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }
}
