// Eigen's SSE code includes <mmintrin.h> (MMX) before the SSE headers, and Emscripten's SSE
// emulation (system/include/compat) has none: WebAssembly has no MMX. Eigen uses no MMX type,
// so an empty header lets it include the SSE headers Emscripten does translate to wasm SIMD.
#pragma once
