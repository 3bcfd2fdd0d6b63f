import MPIShim

/// A failed check: what was expected and what came back, on which rank.
struct CheckFailure: Error, CustomStringConvertible {
    let description: String
}

/// Counts passed checks and throws on the first failure (FailFast then aborts the job).
struct Checker {
    let rank: Int
    let size: Int
    private(set) var passed = 0

    mutating func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String) throws {
        guard actual == expected else {
            throw CheckFailure(description: "\(what()): expected \(expected), got \(actual)")
        }
        passed += 1
    }

    mutating func expectThrows(_ what: String, code: MPIError.Code, _ body: () throws(MPIError) -> Void) throws {
        do {
            try body()
        } catch {
            guard error.code == code else {
                throw CheckFailure(description: "\(what): expected \(code), got \(error)")
            }
            passed += 1
            return
        }
        throw CheckFailure(description: "\(what): expected an error, none was thrown")
    }
}

/// The element types every check runs over, with exact small-integer values.
protocol TestScalar: MPIScalar, Comparable {
    init(testValue: Int)
}

extension Float: TestScalar { init(testValue: Int) { self.init(testValue) } }
extension Double: TestScalar { init(testValue: Int) { self.init(testValue) } }
extension Int32: TestScalar { init(testValue: Int) { self.init(testValue) } }
extension Int64: TestScalar { init(testValue: Int) { self.init(testValue) } }
extension UInt8: TestScalar { init(testValue: Int) { self.init(truncatingIfNeeded: testValue) } }

/// The value rank `rank` contributes at index `index`: small, exact in every type, and
/// different per rank and index.
func contribution(rank: Int, index: Int) -> Int { (rank + 1) + index % 5 }
