// The decoder registry and the image-head base class; see decoder.h.
#include "session/decoder.h"

#include "core/status.h"
#include "session/manifest_read.h"

namespace argus {

DecoderRegistry& DecoderRegistry::global() {
  static DecoderRegistry* registry = [] {
    auto* r = new DecoderRegistry();  // never destroyed: sessions may outlive statics
    register_builtin_decoders(*r);
    return r;
  }();
  return *registry;
}

void DecoderRegistry::add(DecoderKind kind) {
  if (kind.name.empty()) throw Error(Status::InvalidArgument, "a decoder kind needs a name");
  if (!kind.create) {
    throw Error(Status::InvalidArgument, "decoder kind '" + kind.name + "' has no factory");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (kinds_.count(kind.name)) {
    throw Error(Status::InvalidArgument, "decoder kind '" + kind.name + "' is already registered");
  }
  std::string name = kind.name;
  kinds_.emplace(std::move(name), std::make_shared<const DecoderKind>(std::move(kind)));
}

std::shared_ptr<const DecoderKind> DecoderRegistry::find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = kinds_.find(name);
  return it == kinds_.end() ? nullptr : it->second;
}

std::vector<std::string> DecoderRegistry::names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, kind] : kinds_) out.push_back(name);
  return out;
}

void ImageHeadDecoder::run(TaskContext& context, std::vector<TaskResult>& out) const {
  const Tensors head = context.run_head(decode::views_of(context.features()));
  const int64_t n = static_cast<int64_t>(context.batch_size());
  for (int64_t i = 0; i < n; ++i) {
    const Tensors one = n == 1 ? Tensors{} : decode::slice_batch(head, i, n);
    decode_image(n == 1 ? head : one, context.transform(static_cast<size_t>(i)),
           out[static_cast<size_t>(i)]);
  }
}

namespace decode {

const Tensor& output(const Tensors& outputs, const std::string& name, size_t rank,
                     bool any_batch) {
  auto it = outputs.find(name);
  if (it == outputs.end()) throw Error(Status::Bundle, "graph has no output '" + name + "'");
  const Tensor& t = it->second;
  if (t.shape.size() != rank || (!any_batch && t.shape[0] != 1)) {
    throw Error(Status::Internal, "output '" + name + "' has an unexpected shape");
  }
  return t;
}

const Tensor& sole_output(const Tensors& outputs, const TaskSpec& spec, size_t rank) {
  std::string name = manifest::string_or(spec.params, "output", "");
  if (name.empty()) {
    if (outputs.size() != 1) {
      throw Error(Status::Bundle, "task '" + spec.name + "': graph '" + spec.graph + "' has " +
                                      std::to_string(outputs.size()) +
                                      " outputs; params.output must name the one to decode");
    }
    name = outputs.begin()->first;
  }
  return output(outputs, name, rank);
}

Tensors slice_batch(const Tensors& outputs, int64_t i, int64_t n) {
  Tensors out;
  for (const auto& [name, t] : outputs) {
    if (t.shape.empty() || t.shape[0] != n) {
      throw Error(Status::Internal, "output '" + name + "' does not have the batch size");
    }
    const size_t per = t.data.size() / static_cast<size_t>(n);
    Tensor s;
    s.shape = t.shape;
    s.shape[0] = 1;
    s.data.assign(t.data.begin() + static_cast<ptrdiff_t>(per * static_cast<size_t>(i)),
                  t.data.begin() + static_cast<ptrdiff_t>(per * static_cast<size_t>(i + 1)));
    out.emplace(name, std::move(s));
  }
  return out;
}

TensorViews views_of(const Tensors& tensors) {
  TensorViews views;
  for (const auto& [name, t] : tensors) views[name] = TensorView{t.data.data(), t.shape};
  return views;
}

}  // namespace decode

}  // namespace argus
