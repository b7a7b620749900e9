import Foundation

// Sine and cosine, for characteristic functions (NCFM's E[cos t·x] and E[sin t·x]). Each
// VJP is written with the other op, so derivatives of every order are recorded on the tape.

/// sin x; d/dx sin x = cos x.
public func sin(_ x: Tensor) -> Tensor {
    .result(x.mapStorage { Foundation.sin($0) }, shape: x.shape, inputs: [x]) { c in
        [c.upstream * cos(x)]
    }
}

/// cos x; d/dx cos x = −sin x.
public func cos(_ x: Tensor) -> Tensor {
    .result(x.mapStorage { Foundation.cos($0) }, shape: x.shape, inputs: [x]) { c in
        [-(c.upstream * sin(x))]
    }
}
