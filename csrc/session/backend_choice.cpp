// The backend / variant / precision rule; see backend_choice.h.
#include "session/backend_choice.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/status.h"
#include "session/manifest_read.h"

namespace argus {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The variant of `graph` with this backend and precision ("" if none), manifest order.
std::string variant_of(const json::Value& graph, const std::string& backend,
                       const std::string& precision) {
  const json::Value* variants = graph.find("variants");
  for (size_t i = 0; variants && i < variants->size(); ++i) {
    const json::Value& v = variants->items()[i];
    const json::Value* b = v.find("backend");
    const json::Value* p = v.find("precision");
    if (b && b->is_string() && b->as_string() == backend && p && p->is_string() &&
        p->as_string() == precision) {
      return variants->keys()[i];
    }
  }
  return "";
}

// The precisions at which every one of `graphs` has a variant of `backend`, sorted.
std::set<std::string> common_precisions(const Bundle& bundle, const std::vector<std::string>& graphs,
                                        const std::string& backend) {
  std::set<std::string> common;
  for (size_t g = 0; g < graphs.size(); ++g) {
    std::set<std::string> here;
    const json::Value* variants = bundle.graph(graphs[g]).find("variants");
    for (size_t i = 0; variants && i < variants->size(); ++i) {
      const json::Value& v = variants->items()[i];
      const json::Value* b = v.find("backend");
      const json::Value* p = v.find("precision");
      if (b && b->is_string() && b->as_string() == backend && p && p->is_string()) {
        here.insert(p->as_string());
      }
    }
    if (g == 0) {
      common = here;
    } else {
      std::set<std::string> both;
      std::set_intersection(common.begin(), common.end(), here.begin(), here.end(),
                            std::inserter(both, both.end()));
      common = both;
    }
  }
  return common;
}

std::string py_list(const std::set<std::string>& items) {
  std::string out = "[";
  for (const std::string& s : items) out += (out.size() > 1 ? ", '" : "'") + s + "'";
  return out + "]";
}

bool uses_custom_ops(const Bundle& bundle, const std::vector<std::string>& graphs) {
  return std::any_of(graphs.begin(), graphs.end(), [&](const std::string& g) {
    const json::Value* custom = bundle.graph(g).find("custom_ops");
    return custom && custom->is_array() && custom->size() > 0;
  });
}

// The registry's backends with a capability, as "OpenVINO" / "openvino or X".
template <class Pred>
std::string who(const BackendRegistry& registry, Pred pred, bool display) {
  std::string out;
  for (const BackendInfo& b : registry.all()) {
    if (pred(b)) out += (out.empty() ? "" : " or ") + (display ? b.display_name : b.name);
  }
  return out;
}

void fill_variants(BackendChoice& choice, const std::map<std::string, std::string>& variants) {
  choice.variants = variants;
  std::set<std::string> names;
  for (const auto& [graph, name] : variants) names.insert(name);
  for (const std::string& n : names) choice.variant += (choice.variant.empty() ? "" : ",") + n;
}

// The bundle's path for a message (paths that are not UTF-8 are not shown).
std::string shown_path(const Bundle& bundle) {
  const std::string& path = bundle.path();
  return json::find_invalid_utf8(path) == std::string::npos ? "'" + path + "'" : "the bundle";
}

// Fills `choice` for backend `info`, or returns why it is not eligible.
std::string try_backend(const Bundle& bundle, const std::vector<std::string>& graphs,
                        const BackendRequest& request, const BackendInfo& info,
                        const HostAvailability& host, const BackendRegistry& registry,
                        BackendChoice& choice) {
  if (!info.create) {
    const auto it = host.find(info.name);
    const std::string why = it != host.end() ? it->second : info.unavailable_reason();
    if (!why.empty()) return why;
  }
  if (!info.devices.empty() &&
      std::none_of(info.devices.begin(), info.devices.end(),
                   [&](const std::string& d) { return upper(d) == upper(request.device); })) {
    std::string devices;
    for (const std::string& d : info.devices) devices += (devices.empty() ? "" : ", ") + d;
    return "the " + info.name + " backend runs on " + devices + " only, not '" + request.device +
           "'";
  }
  if (!info.custom_ops && uses_custom_ops(bundle, graphs)) {
    return "the bundle's graphs use ai.argus custom nodes, which only the " +
           who(registry, [](const BackendInfo& b) { return b.custom_ops; }, false) +
           " backend runs (export with deform='standard' for " + info.name + ")";
  }
  choice.backend = info.name;
  std::map<std::string, std::string> variants;
  if (!request.variant.empty()) {
    for (const std::string& g : graphs) {
      const json::Value* variants_obj = bundle.graph(g).find("variants");
      const json::Value* v = variants_obj ? variants_obj->find(request.variant) : nullptr;
      const json::Value* b = v && v->is_object() ? v->find("backend") : nullptr;
      if (!b || !b->is_string() || b->as_string() != info.name) {
        return "graph '" + g + "' has no variant '" + request.variant + "' of " + info.name;
      }
      variants[g] = request.variant;
      const json::Value* p = v->find("precision");
      choice.precision = p && p->is_string() ? p->as_string() : "";
    }
    choice.hint = info.precision_hints && choice.precision == "fp32" ? "f32" : "";
    fill_variants(choice, variants);
    return "";
  }
  const bool bf16 = request.precision == "bf16";
  if (bf16 && !info.precision_hints) {
    return "bf16 inference is an " +
           who(registry, [](const BackendInfo& b) { return b.precision_hints; }, true) +
           " precision hint";
  }
  const std::set<std::string> have = common_precisions(bundle, graphs, info.name);
  if (have.empty()) return "the bundle has no " + info.name + " variants for every graph";
  const std::vector<std::string> wanted =
      bf16 ? std::vector<std::string>{"fp32"}
           : request.precision.empty() ? std::vector<std::string>{"fp32", "fp16", "int8"}
                                       : std::vector<std::string>{request.precision};
  for (const std::string& p : wanted) {
    if (!have.count(p)) continue;
    for (const std::string& g : graphs) variants[g] = variant_of(bundle.graph(g), info.name, p);
    choice.precision = p;
    choice.hint = !info.precision_hints ? "" : bf16 ? "bf16" : p == "fp32" ? "f32" : "";
    fill_variants(choice, variants);
    return "";
  }
  return "the bundle's " + info.name + " variants are " + py_list(have) + ", not " +
         (request.precision.empty() ? "any known precision" : request.precision);
}

// Why the chosen variants failed their gates, "; "-joined ("" when none did).
std::string gate_failures(const Bundle& bundle, const BackendChoice& choice) {
  std::string out;
  for (const auto& [graph, variant] : choice.variants) {
    const std::string why = failed_gate(bundle.manifest(), graph, variant);
    if (!why.empty()) out += (out.empty() ? "" : "; ") + why;
  }
  return out;
}

}  // namespace

std::string failed_gate(const json::Value& manifest, const std::string& graph,
                        const std::string& variant) {
  const json::Value* graphs = manifest.find("graphs");
  const json::Value* g = graphs ? graphs->find(graph) : nullptr;
  const json::Value* variants = g ? g->find("variants") : nullptr;
  const json::Value* v = variants ? variants->find(variant) : nullptr;
  if (!v || !v->is_object()) return "";
  const json::Value* gate = manifest::object_or_null(v, "gate");
  std::string detail;
  if (gate) {
    const json::Value* passed = gate->find("passed");
    if (!passed || !passed->is_bool()) {
      throw Error(Status::Bundle, "graph '" + graph + "' variant '" + variant +
                                      "': its 'gate' needs 'passed': true or false");
    }
    if (passed->as_bool()) return "";
    detail = manifest::string_or(gate, "detail", "");
  } else {
    // Format 1.0 / 1.1 INT8 bundles record the gate only in their provenance.
    if (manifest::string_or(v, "precision", "") != "int8") return "";
    const json::Value* calibration = manifest::object_or_null(
        manifest::object_or_null(&manifest, "provenance"), "calibration");
    if (manifest::bool_or(calibration, "passed_gate", true)) return "";
  }
  return "variant '" + variant + "' of graph '" + graph +
         "' failed its INT8 accuracy gate" + (detail.empty() ? "" : " (" + detail + ")");
}

const std::vector<std::string>& known_precisions() {
  static const std::vector<std::string> precisions = {"fp32", "fp16", "int8", "bf16"};
  return precisions;
}

BackendChoice choose_backend(const Bundle& bundle, const std::vector<std::string>& graphs,
                             const BackendRequest& request, const HostAvailability& host,
                             const BackendRegistry& registry) {
  const bool automatic = request.backend == "auto";
  if (!automatic && !registry.find(request.backend)) {
    throw Error(Status::InvalidArgument, "unknown backend '" + request.backend +
                                             "'; expected 'auto' or one of " +
                                             registry.names_text());
  }
  const auto& precisions = known_precisions();
  if (!request.precision.empty() &&
      std::find(precisions.begin(), precisions.end(), request.precision) == precisions.end()) {
    throw Error(Status::InvalidArgument, "unknown precision '" + request.precision +
                                             "'; expected one of ('fp32', 'fp16', 'int8', "
                                             "'bf16') or none");
  }
  std::string reasons;
  bool gate = false;  // a failed gate stopped a backend
  for (const BackendInfo& info : registry.all()) {
    if (!automatic && info.name != request.backend) continue;
    BackendChoice choice;
    std::string why = try_backend(bundle, graphs, request, info, host, registry, choice);
    if (why.empty()) {
      choice.failed_gate = gate_failures(bundle, choice);
      if (choice.failed_gate.empty() || request.accept_failed_gate) return choice;
      why = choice.failed_gate + "; accept_failed_gate runs it anyway";
      gate = true;
    }
    reasons += (reasons.empty() ? "" : "; ") + info.name + ": " + why;
  }
  throw Error(gate ? Status::GateFailed : Status::BackendUnavailable,
              "cannot run " + shown_path(bundle) + " with backend='" + request.backend + "'" +
                  (request.precision.empty() ? "" : ", precision='" + request.precision + "'") +
                  (request.variant.empty() ? "" : ", variant='" + request.variant + "'") +
                  ": " + reasons);
}

}  // namespace argus
