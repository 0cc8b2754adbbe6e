// Runtime policy: which backend, which variant of each graph and which inference
// precision a Session uses. The one rule every API asks (argus::Session, hence the C
// API and argus_edge.Session); nothing else decides it again.
//
// Backends are tried in the registry's "auto" order (or only the one requested). One is
// eligible when (1) libargus built it in or the host provides it (the Python binding's
// ONNX Runtime runner), (2) it runs on the requested device, (3) it runs the custom nodes
// of the bundle's graphs, if any, and (4) every graph the tasks use has a variant of it
// at the precision asked for:
//   precision ""      the most precise the bundle holds: fp32, else fp16, else int8;
//   "fp32" / "fp16" / "int8"   variants of exactly that precision;
//   "bf16"            fp32 variants, run with a bf16 compute hint (backends that take
//                     precision hints only).
// An explicit variant name replaces (4): every graph must have that variant, of this
// backend. (5) Unless the request accepts it, no chosen variant may record a failed INT8
// accuracy gate (its manifest "gate": {"passed": false}; in format 1.0/1.1 INT8 bundles,
// provenance.calibration.passed_gate false); when that is all that stops every backend,
// the error is Error(GateFailed). Engines that take precision hints run fp32 variants with "f32" (exactly)
// unless bf16 was asked for, other variants with the engine's default. If none is
// eligible the error names, for each backend tried, why not. Nothing falls back silently
// after the choice: it is reported (Session::choice()).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/bundle.h"

namespace argus {

// The backends the host provides beside libargus's own: name -> "" (provided) or why the
// host cannot provide it (e.g. "the onnxruntime package is not installed").
using HostAvailability = std::map<std::string, std::string>;

struct BackendRequest {
  std::string backend = "auto";  // a registry name or "auto"
  std::string precision;         // "", "fp32", "fp16", "int8" or "bf16"
  std::string variant;           // "": by precision; else this variant of every graph
  std::string device = "CPU";
  bool accept_failed_gate = false;  // true: (5) does not apply
};

struct BackendChoice {
  std::string backend;      // registry name
  std::string precision;    // the chosen variants' precision ("fp32", "fp16", "int8")
  std::string hint;         // precision hint for the engine ("f32", "bf16", "": none)
  std::string variant;      // the variants' name (their names joined by "," if they differ)
  std::map<std::string, std::string> variants;  // graph -> variant
  // Why chosen variants failed their gate ("" when none did; only when accepted).
  std::string failed_gate;

  // What the engine computes in: the hint, else the variants' precision.
  const std::string& inference_precision() const { return hint.empty() ? precision : hint; }
};

// The precisions a request may name ("fp32", "fp16", "int8", "bf16").
const std::vector<std::string>& known_precisions();

// Applies the rule to the `graphs` (the ones the bundle's tasks use) of `bundle`.
// Throws Error(InvalidArgument) for an unknown backend or precision name,
// Error(GateFailed) when only failed gates stop every backend, and
// Error(BackendUnavailable) when no backend is eligible for any other reason.
BackendChoice choose_backend(const Bundle& bundle, const std::vector<std::string>& graphs,
                             const BackendRequest& request, const HostAvailability& host,
                             const BackendRegistry& registry = BackendRegistry::global());

// Why `variant` of `graph` failed its INT8 accuracy gate ("variant 'openvino-int8' of
// graph 'backbone' failed its INT8 accuracy gate (...)"), or "" when it passed or
// records none. `manifest` is a bundle's manifest (verified).
std::string failed_gate(const json::Value& manifest, const std::string& graph,
                        const std::string& variant);

}  // namespace argus
