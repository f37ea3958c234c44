// The machine's arithmetic limit, measured: each unit the CPU has (float32 FMA on AVX2 and
// AVX-512, int8 dot products on VNNI, bf16 dot products on AVX-512 BF16, int8 and bf16 tile
// products on AMX) run as 12 independent chains (AMX: 4 tiles), so no instruction waits for
// another's result, on 1 or more threads at once. What `rnngraph bench peak` prints, and the
// yardstick of `bench --json`'s share of peak.
#pragma once

#include <string>
#include <vector>

#include <rnngraph/models/model.h>

namespace rnngraph::cli {

struct PeakUnit {
  std::string name;   // "fma_avx2", "fma_avx512", "int8_avx2", "int8_vnni256", "int8_vnni512",
                      // "bf16_avx512", "int8_amx", "bf16_amx"
  std::string unit;   // "GFLOP/s" or "GOP/s" (int8: a multiply and an add are two ops)
  bool present;       // this CPU has it (and the build can issue it)
  double per_second;  // G(FL)OP/s on `threads` threads together; 0 when absent
};

// Every unit, measured for about `seconds` each on `threads` threads.
std::vector<PeakUnit> measure_peaks(int threads, double seconds = 0.1);

// The float32 FMA limit of the widest unit this CPU has, on `threads` threads (GFLOP/s).
double float_peak(int threads, double seconds = 0.05);

// The unit the products of a model in `precision` run on, with the kernels this CPU runs
// (capped by RNNGRAPH_MAX_ISA): "int8_amx", "int8_vnni512" or "int8_avx2" for int8, "bf16_amx"
// or "bf16_avx512" for bf16 (else the FMA unit its kernel widens for), the widest FMA unit for
// float32.
std::string product_unit(models::Precision precision);

// That unit's limit on `threads` threads (GFLOP/s, or GOP/s for int8).
double product_peak(models::Precision precision, int threads, double seconds = 0.05);

}  // namespace rnngraph::cli
