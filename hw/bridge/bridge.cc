// Node-API bridge to the Verilated VTA (vta_top). The harness serves the AXI master straight from
// the driver's DeviceMemory regions (ArrayBuffers shared with JavaScript, no copies) and advances
// the clock in C++: one JS call runs up to N cycles, stopping at finish, fault, deadlock, a bad
// memory access or a failed RTL assertion (built with --assert; see hw/rtl/vta_assert.svh), on a
// worker thread (runAsync), so that separate models clock at once.
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "Vvta_top.h"
#include "Vvta_top___024root.h"
#include "Vvta_top__Dpi.h"
#include "vta_clk_prev.h"
#include "verilated.h"
#include "verilated_vcd_c.h"

namespace {

struct Region {
  uint64_t phys;
  uint8_t* data;
  size_t length;
};

struct ReadBurst {
  uint64_t addr;
  uint32_t beats_left;
  uint32_t id;
  uint64_t ready_at;  // bridge cycle at which its first beat may be sent
};

// The data bus width is a synthesis parameter (LOG_BUS_WIDTH in the config): Verilator gives a
// 64-bit port as a uint64_t and a wider one as a VlWide array of 32-bit words, least significant
// first. Both hold the beat's bytes in memory order on a little-endian host.
constexpr size_t kBusBytes = sizeof(Vvta_top::r_data_i);
static_assert(kBusBytes == 8 || kBusBytes == 16, "the bridge serves 64- and 128-bit buses");
inline void* BeatBytes(uint64_t& beat) { return &beat; }
template <std::size_t N> void* BeatBytes(VlWide<N>& beat) { return beat.data(); }
inline const void* BeatBytes(const uint64_t& beat) { return &beat; }
template <std::size_t N> const void* BeatBytes(const VlWide<N>& beat) { return beat.data(); }

// DRAM timing, a run-time setting (hw/README.md, "Memory model"): cycles from an accepted read
// request to its first beat, read bursts in flight (0: no limit), and cycles from a write burst's
// last beat to its response. {1, 0, 1} is the ideal memory the bridge has always modelled.
struct MemoryTiming {
  uint32_t read_latency = 1;
  uint32_t outstanding = 0;
  uint32_t write_latency = 1;
};

// The inputs the bridge drives each cycle. When a cycle's inputs equal those of the model's last
// evaluation, its combinational logic is settled for them already (see Tsim::FallingEdge).
struct BusInputs {
  uint8_t ar_ready, r_valid, r_id, r_last, b_valid;
  uint8_t r_data[kBusBytes];

  static BusInputs Of(const Vvta_top& t) {
    BusInputs in{t.ar_ready_i, t.r_valid_i, t.r_id_i, t.r_last_i, t.b_valid_i, {}};
    std::memcpy(in.r_data, BeatBytes(t.r_data_i), kBusBytes);
    return in;
  }
  bool operator==(const BusInputs& o) const {
    return ar_ready == o.ar_ready && r_valid == o.r_valid && r_id == o.r_id && r_last == o.r_last &&
           b_valid == o.b_valid && std::memcmp(r_data, o.r_data, kBusBytes) == 0;
  }
};

struct WriteBurst {
  uint64_t addr;
  uint32_t beats_left;
};

enum class Stop { Budget, Finished, Deadlock, Fault, MemFault, Assert };

const char* StopName(Stop s) {
  switch (s) {
    case Stop::Budget: return "budget";
    case Stop::Finished: return "finished";
    case Stop::Deadlock: return "deadlock";
    case Stop::Fault: return "fault";
    case Stop::MemFault: return "memfault";
    case Stop::Assert: return "assert";
  }
  return "?";
}

// The first RTL assertion that failed since it was last taken. The model calls
// vta_assert_failed from inside eval(), on the thread clocking it: each thread records the failure
// where the model it is evaluating keeps its own (t_assert, set by Tsim::Clocking), so models
// clocked at the same time on different threads (runAsync) keep their failures apart.
struct AssertFailure {
  bool failed = false;
  std::string name;
  std::string scope;  // hierarchical path of the asserting instance, e.g. vta_top.u_s2g
};
thread_local AssertFailure* t_assert = nullptr;

// "top.vta_top.u_s2g.NoTokenOverflow" -> "vta_top.u_s2g" (the first name is the C++ model's).
std::string InstancePath(const std::string& path, const std::string& label) {
  const size_t dot = path.find('.');
  std::string p = dot == std::string::npos ? path : path.substr(dot + 1);
  const std::string tail = "." + label;
  if (p.size() > tail.size() && p.compare(p.size() - tail.size(), tail.size(), tail) == 0) {
    p.resize(p.size() - tail.size());
  }
  return p;
}

class Tsim : public Napi::ObjectWrap<Tsim> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Tsim", {
      InstanceMethod("reset", &Tsim::Reset),
      InstanceMethod("setRegions", &Tsim::SetRegions),
      InstanceMethod("regWrite", &Tsim::RegWrite),
      InstanceMethod("regRead", &Tsim::RegRead),
      InstanceMethod("runAsync", &Tsim::RunAsync),
      InstanceMethod("eventsEnable", &Tsim::EventsEnable),
      InstanceMethod("eventsDrain", &Tsim::EventsDrain),
      InstanceMethod("setMemory", &Tsim::SetMemory),
      InstanceMethod("traceOpen", &Tsim::TraceOpen),
      InstanceMethod("traceClose", &Tsim::TraceClose),
      InstanceMethod("close", &Tsim::Close),
    });
    exports.Set("Tsim", cls);
    return exports;
  }

  explicit Tsim(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tsim>(info) {
    ctx_ = std::make_unique<VerilatedContext>();
    ctx_->traceEverOn(true);
    top_ = std::make_unique<Vvta_top>(ctx_.get(), "top");
    DoReset(4);
  }

  // The model's scopes (there for the assertions' DPI calls) unregister from the thread's current
  // Verilator context, which may be another model's, already freed: make it this model's first.
  ~Tsim() override {
    Verilated::threadContextp(ctx_.get());
    top_.reset();
  }

 private:
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vvta_top> top_;
  AssertFailure assert_;
  // A run on a worker thread (runAsync) owns the model until it resolves: every other call is refused.
  bool busy_ = false;
  std::unique_ptr<VerilatedVcdC> trace_;
  std::vector<Region> regions_;
  Napi::Reference<Napi::Array> regions_ref_;  // keeps the ArrayBuffers alive
  const Region* last_ = nullptr;
  std::deque<ReadBurst> reads_;
  std::deque<WriteBurst> writes_;
  std::deque<uint64_t> b_ready_at_;  // one write response per finished burst, in order
  MemoryTiming timing_;
  uint64_t now_ = 0;  // memory-model cycles since reset
  // The bus inputs of the model's last evaluation in Cycle; unset after any other evaluation
  // (reset, host register access), whose inputs Cycle does not track.
  bool settled_ = false;
  BusInputs settled_in_{};
  // The clock gates' latched enables (vta_top clk_en_o at the last falling edge evaluated: the
  // latches are open while the clock is low).
  uint32_t latched_en_ = 0;
  uint64_t time_ = 0;
  uint64_t fault_addr_ = 0;
  bool fault_write_ = false;
  uint32_t fault_client_ = 0;
  // Timeline events (vta_top ev_*): collected each cycle in C++ and handed to JavaScript in bulk
  // by eventsDrain, four words each: cycle, stage (0 fetch .. 3 store), kind (0 start, 1 end), insn.
  bool events_on_ = false;
  std::vector<uint32_t> events_;

  uint8_t* Lookup(uint64_t addr, size_t n) {
    if (last_ && addr >= last_->phys && addr + n <= last_->phys + last_->length) {
      return last_->data + (addr - last_->phys);
    }
    for (const Region& r : regions_) {
      if (addr >= r.phys && addr + n <= r.phys + r.length) {
        last_ = &r;
        return r.data + (addr - r.phys);
      }
    }
    return nullptr;
  }

  // Failures reported while this model is evaluated on the calling thread are this model's.
  void Clocking() {
    t_assert = &assert_;
    Verilated::threadContextp(ctx_.get());
  }

  void Tick() {
    settled_ = false;
    top_->clk_i = 0;
    top_->eval();
    if (trace_) trace_->dump(time_);
    time_++;
    top_->clk_i = 1;
    top_->eval();
    if (trace_) trace_->dump(time_);
    time_++;
  }

  void CollectEvents() {
    const Vvta_top& t = *top_;
    const uint32_t starts = t.ev_start_o, ends = t.ev_end_o;
    if (!(starts | ends)) return;
    for (uint32_t stage = 0; stage < 4; stage++) {
      // A one-cycle instruction starts and ends in the same cycle: the start goes first.
      for (uint32_t kind = 0; kind < 2; kind++) {
        if (!(((kind ? ends : starts) >> stage) & 1u)) continue;
        events_.insert(events_.end(), {t.ev_cycle_o, stage, kind, t.ev_insn_o[stage]});
      }
    }
  }

  void DoReset(int cycles) {
    Clocking();
    assert_ = AssertFailure{};
    events_.clear();
    reads_.clear();
    writes_.clear();
    b_ready_at_.clear();
    now_ = 0;
    top_->host_req_i = 0;
    top_->ar_ready_i = 0;
    top_->r_valid_i = 0;
    top_->aw_ready_i = 0;
    top_->w_ready_i = 0;
    top_->b_valid_i = 0;
    top_->rst_ni = 0;
    top_->clk_i = 0;
    top_->eval();
    for (int i = 0; i < cycles; i++) Tick();
    top_->rst_ni = 1;
    Tick();
  }

  // Every call but runAsync's result works on the model from the JavaScript thread: not while a
  // run on a worker thread owns it.
  void CheckIdle(const Napi::CallbackInfo& info) {
    if (busy_) throw Napi::Error::New(info.Env(), "tsim model is busy with a run on another thread");
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    DoReset(4);
    return info.Env().Undefined();
  }

  // regions: Array of { phys: number, bytes: Uint8Array }
  Napi::Value SetRegions(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    Napi::Array arr = info[0].As<Napi::Array>();
    regions_.clear();
    last_ = nullptr;
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Object o = arr.Get(i).As<Napi::Object>();
      Napi::Uint8Array bytes = o.Get("bytes").As<Napi::Uint8Array>();
      regions_.push_back(Region{static_cast<uint64_t>(o.Get("phys").As<Napi::Number>().Int64Value()),
                                bytes.Data(), bytes.ByteLength()});
    }
    regions_ref_ = Napi::Persistent(arr);
    return info.Env().Undefined();
  }

  Napi::Value RegWrite(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    Clocking();
    top_->host_req_i = 1;
    top_->host_we_i = 1;
    top_->host_addr_i = info[0].As<Napi::Number>().Uint32Value();
    top_->host_wdata_i = info[1].As<Napi::Number>().Uint32Value();
    Tick();
    top_->host_req_i = 0;
    top_->host_we_i = 0;
    settled_ = false;
    return info.Env().Undefined();
  }

  // A read request for one evaluation: the VCR drives host_rdata_o only while it is asked.
  Napi::Value RegRead(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    Clocking();
    top_->host_req_i = 1;
    top_->host_we_i = 0;
    top_->host_addr_i = info[0].As<Napi::Number>().Uint32Value();
    top_->eval();
    const uint32_t value = top_->host_rdata_o;
    top_->host_req_i = 0;
    settled_ = false;
    return Napi::Number::New(info.Env(), value);
  }

  // setMemory({ readLatency, outstanding, writeLatency }): the DRAM timing of later runs.
  Napi::Value SetMemory(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    Napi::Object o = info[0].As<Napi::Object>();
    timing_.read_latency = o.Get("readLatency").As<Napi::Number>().Uint32Value();
    timing_.outstanding = o.Get("outstanding").As<Napi::Number>().Uint32Value();
    timing_.write_latency = o.Get("writeLatency").As<Napi::Number>().Uint32Value();
    if (timing_.read_latency < 1) timing_.read_latency = 1;
    if (timing_.write_latency < 1) timing_.write_latency = 1;
    return info.Env().Undefined();
  }

  // The falling clock edge: no flop of the design acts on it (every one is on a rising edge or
  // the reset), so its evaluation settles the combinational logic after this cycle's new inputs
  // and opens the clock gates' latches (vta_clock_gate), which take their enables. With the
  // inputs of the last evaluation and every enable as latched (clk_en_o as at the last falling
  // edge evaluated), nothing is left to settle (the rising edge's evaluation settled it; with
  // memory idle that is most cycles): the clocks are only recorded as low, so that the next
  // evaluation sees a rising edge on each enabled one. VTA_CLK_PREVS (vta_clk_prev.h, found by
  // the Makefile in the generated model) names the model's records of the clocks' last values; with
  // a Verilator that names them otherwise it stays undefined and every edge is evaluated. Tracing
  // evaluates every edge too, so the VCD shows both.
  void FallingEdge() {
    Vvta_top& t = *top_;
    t.clk_i = 0;
    const BusInputs in = BusInputs::Of(t);
#ifdef VTA_CLK_PREVS
    if (settled_ && !trace_ && in == settled_in_ && t.clk_en_o == latched_en_) {
#define VTA_CLEAR_PREV(name) t.rootp->name = 0;
      VTA_CLK_PREVS(VTA_CLEAR_PREV)
#undef VTA_CLEAR_PREV
      return;
    }
#endif
    t.eval();
    settled_ = true;
    settled_in_ = in;
    latched_en_ = t.clk_en_o;
  }

  // One clock cycle of the memory model around the RTL. Returns false on a bad access. Read
  // bursts are answered in the order they were accepted, one beat per cycle once the front one's
  // latency has passed (the next burst's latency runs meanwhile, so bursts in flight overlap).
  bool Cycle() {
    Vvta_top& t = *top_;
    t.ar_ready_i = timing_.outstanding == 0 || reads_.size() < timing_.outstanding;
    t.aw_ready_i = 1;
    t.w_ready_i = 1;
    if (!reads_.empty() && reads_.front().ready_at <= now_) {
      ReadBurst& r = reads_.front();
      const uint8_t* p = Lookup(r.addr, kBusBytes);
      if (!p) {
        fault_addr_ = r.addr;
        fault_write_ = false;
        fault_client_ = r.id;
        return false;
      }
      std::memcpy(BeatBytes(t.r_data_i), p, kBusBytes);
      t.r_valid_i = 1;
      t.r_id_i = r.id;
      t.r_last_i = r.beats_left == 1;
    } else {
      t.r_valid_i = 0;
      t.r_last_i = 0;
    }
    t.b_valid_i = !b_ready_at_.empty() && b_ready_at_.front() <= now_;
    FallingEdge();
    if (trace_) trace_->dump(time_);
    time_++;
    if (events_on_) CollectEvents();
    // Handshakes of this cycle
    if (t.ar_valid_o && t.ar_ready_i) {
      reads_.push_back(ReadBurst{t.ar_addr_o, static_cast<uint32_t>(t.ar_len_o) + 1, t.ar_id_o,
                                 now_ + timing_.read_latency});
    }
    if (t.r_valid_i && t.r_ready_o) {
      ReadBurst& r = reads_.front();
      r.addr += kBusBytes;
      if (--r.beats_left == 0) reads_.pop_front();
    }
    if (t.aw_valid_o) writes_.push_back(WriteBurst{t.aw_addr_o, static_cast<uint32_t>(t.aw_len_o) + 1});
    if (t.w_valid_o) {
      if (writes_.empty()) return false;
      WriteBurst& w = writes_.front();
      uint8_t* p = Lookup(w.addr, kBusBytes);
      if (!p) {
        fault_addr_ = w.addr;
        fault_write_ = true;
        fault_client_ = 3;
        return false;
      }
      uint8_t data[kBusBytes];
      std::memcpy(data, BeatBytes(t.w_data_o), kBusBytes);
      const uint32_t strb = t.w_strb_o;
      for (size_t i = 0; i < kBusBytes; i++) {
        if (strb & (1u << i)) p[i] = data[i];
      }
      w.addr += kBusBytes;
      if (--w.beats_left == 0) {
        writes_.pop_front();
        b_ready_at_.push_back(now_ + timing_.write_latency);
      }
    }
    if (t.b_valid_i && t.b_ready_o) b_ready_at_.pop_front();
    now_++;
    t.clk_i = 1;
    t.eval();
    if (trace_) trace_->dump(time_);
    time_++;
    return true;
  }

  // How a run of up to N cycles ended (Clock), kept apart from JavaScript values so that it can
  // run on a worker thread.
  struct Outcome {
    Stop stop = Stop::Budget;
    double cycles = 0;
  };

  // Clock up to `max` cycles, stopping at finish, fault, deadlock, a bad access or an assertion.
  Outcome Clock(double max) {
    Clocking();
    Outcome o;
    while (o.cycles < max) {
      if (!Cycle()) {
        o.stop = Stop::MemFault;
        o.cycles++;
        break;
      }
      o.cycles++;
      if (assert_.failed) { o.stop = Stop::Assert; break; }
      if (top_->finished_o) { o.stop = Stop::Finished; break; }
      if (top_->fault_o) { o.stop = Stop::Fault; break; }
      if (top_->deadlock_o) { o.stop = Stop::Deadlock; break; }
    }
    if (trace_) trace_->flush();
    return o;
  }

  // { stop, cycles, faultAddr, faultWrite, faultClient, assertion, assertScope }
  Napi::Object ResultOf(Napi::Env env, const Outcome& o) {
    Napi::Object res = Napi::Object::New(env);
    res.Set("stop", StopName(o.stop));
    res.Set("cycles", o.cycles);
    res.Set("faultAddr", static_cast<double>(fault_addr_));
    res.Set("faultWrite", fault_write_);
    res.Set("faultClient", fault_client_);
    if (o.stop == Stop::Assert) {
      res.Set("assertion", assert_.name);
      res.Set("assertScope", InstancePath(assert_.scope, assert_.name));
    }
    return res;
  }

  // The cycles of runAsync, on a thread of libuv's pool; the model is the run's until it resolves.
  class RunWorker : public Napi::AsyncWorker {
   public:
    RunWorker(Napi::Env env, Tsim* sim, double max)
        : Napi::AsyncWorker(env, "vta_tsim_run"), sim_(sim), max_(max), deferred_(Napi::Promise::Deferred::New(env)) {
      owner_ = Napi::Persistent(sim->Value());
    }
    Napi::Promise Promise() { return deferred_.Promise(); }
    void Execute() override { outcome_ = sim_->Clock(max_); }
    void OnOK() override {
      sim_->busy_ = false;
      deferred_.Resolve(sim_->ResultOf(Env(), outcome_));
    }
    void OnError(const Napi::Error& e) override {
      sim_->busy_ = false;
      deferred_.Reject(e.Value());
    }

   private:
    Tsim* sim_;
    double max_;
    Outcome outcome_;
    Napi::Promise::Deferred deferred_;
    Napi::ObjectReference owner_;  // keeps the model alive while the thread clocks it
  };

  // runAsync(maxCycles) -> Promise of ResultOf's object: the cycles on a worker thread, so that
  // models of separate devices clock at the same time (one network's kernels on several cores).
  Napi::Value RunAsync(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    const double max = info[0].As<Napi::Number>().DoubleValue();
    auto* worker = new RunWorker(info.Env(), this, max);
    Napi::Promise promise = worker->Promise();
    busy_ = true;
    worker->Queue();
    return promise;
  }

  // eventsEnable(on): collect timeline events from now on (or stop, dropping those not drained).
  Napi::Value EventsEnable(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    events_on_ = info[0].As<Napi::Boolean>().Value();
    if (!events_on_) events_.clear();
    return info.Env().Undefined();
  }

  // eventsDrain() -> Uint32Array of the events collected since the last drain (see events_).
  Napi::Value EventsDrain(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    Napi::Uint32Array out = Napi::Uint32Array::New(info.Env(), events_.size());
    if (!events_.empty()) std::memcpy(out.Data(), events_.data(), events_.size() * sizeof(uint32_t));
    events_.clear();
    return out;
  }

  Napi::Value TraceOpen(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    std::string path = info[0].As<Napi::String>().Utf8Value();
    trace_ = std::make_unique<VerilatedVcdC>();
    top_->trace(trace_.get(), 99);
    trace_->open(path.c_str());
    if (!trace_->isOpen()) {
      trace_.reset();
      Napi::Error::New(info.Env(), "cannot open trace file " + path).ThrowAsJavaScriptException();
    }
    return info.Env().Undefined();
  }

  Napi::Value TraceClose(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    if (trace_) {
      trace_->close();
      trace_.reset();
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CheckIdle(info);
    TraceClose(info);
    if (top_) top_->final();
    regions_.clear();
    regions_ref_.Reset();
    return info.Env().Undefined();
  }
};

Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return Tsim::Init(env, exports); }

}  // namespace

// DPI import of vta_assert_pkg: a labelled assertion failed (scope is its %m path).
void vta_assert_failed(const char* name, const char* scope) {
  if (!t_assert || t_assert->failed) return;
  *t_assert = AssertFailure{true, name, scope};
}

NODE_API_MODULE(vta_tsim, InitModule)
