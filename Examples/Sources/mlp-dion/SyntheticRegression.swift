import Foundation
import LinearAlgebra

/// A regression task with a known answer: inputs x ~ N(0, I) in `inputs` dimensions, targets
/// y = C·tanh(A·x) from a fixed random teacher.
///
/// Every sample is a pure function of (seed, global sample index) through the keyed generator, so
/// each rank draws only its own slice of a step's batch, with no communication, and every mesh
/// sees exactly the same global batch.
struct SyntheticRegression {
    let inputs: Int
    let outputs: Int
    let generator: KeyedNormalGenerator
    /// The teacher: A (teacherWidth × inputs) and C (outputs × teacherWidth).
    let a: Matrix
    let c: Matrix

    init(inputs: Int, outputs: Int, teacherWidth: Int = 16, seed: UInt64) {
        self.inputs = inputs
        self.outputs = outputs
        generator = KeyedNormalGenerator(seed: seed)
        a = generator.matrix(stream: 1, rows: teacherWidth, columns: inputs, scale: 1 / Float(inputs).squareRoot())
        c = generator.matrix(stream: 2, rows: outputs, columns: teacherWidth, scale: 1 / Float(teacherWidth).squareRoot())
    }

    /// Samples `samples` of step `step`'s global batch of `batch` samples: inputs (count × inputs)
    /// and targets (count × outputs).
    func batch(step: Int, batch: Int, samples: Range<Int>) throws(LinearAlgebraError) -> (x: Matrix, y: Matrix) {
        let first = step * batch
        let x = generator.block(stream: 3, globalColumns: inputs,
                                rows: (first + samples.lowerBound)..<(first + samples.upperBound), columns: 0..<inputs)
        var hidden = try BLAS.matmul(x, a, transposeB: true)
        for k in hidden.elements.indices { hidden.elements[k] = tanh(hidden.elements[k]) }
        return (x, try BLAS.matmul(hidden, c, transposeB: true))
    }
}
