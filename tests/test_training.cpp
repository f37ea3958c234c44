// Training against PyTorch: gradients of nn.RNN / nn.LSTM / nn.GRU through `rnngraph grad
// --names torch`, torch.optim step for step, the sine task's convergence, the text task's final
// loss against PyTorch's with the same set-up, and exact resumption. Fixtures:
// tests/fixtures/make_torch_grads.py, make_torch_optim.py, make_torch_text.py.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;
using rnngraph::testing::check_relative;
using rnngraph::testing::fixture;

namespace {

fs::path work_dir() { return rnngraph::testing::scratch_dir("training"); }
rnngraph::testing::Outcome cli(const std::string& args) {
  return rnngraph::testing::run_cli(work_dir(), args);
}

void check_torch_gradients(const std::string& cell, int layers, const std::string& loss) {
  const std::string name = fmt::format("torch_grad_{}_L{}", cell, layers);
  BOOST_TEST_CONTEXT(name << " " << loss) {
    auto r =
        cli(fmt::format("build {} --input-size 3 --hidden-size 4 --steps 5 --batch 3 "
                        "--layers {} --weights '{}' -o {}.json",
                        cell, layers, fixture(name + ".safetensors"), name));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    std::string args = fmt::format(
        "grad {0}.json --input '{1}_x.npy' --h0 '{1}_h0.npy' --names torch --wrt all -o "
        "{0}_{2}.safetensors",
        name, fixture(name), loss);
    if (cell == "lstm") args += fmt::format(" --c0 '{}_c0.npy'", fixture(name));
    if (loss == "mse") args += fmt::format(" --loss mse --target '{}_target.npy'", fixture(name));
    r = cli(args);
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    const io::TensorMap ours =
        io::read_safetensors(work_dir() / (name + "_" + loss + ".safetensors"));
    const io::TensorMap torch = io::read_safetensors(fixture(name + "_" + loss + ".safetensors"));
    int compared = 0;
    for (const auto& [key, expected] : torch) {
      if (key == "loss") {
        const float printed = std::stof(r.out.substr(r.out.find("loss: ") + 6));
        BOOST_CHECK_CLOSE(printed, expected.values()[0], 1e-3);
        continue;
      }
      auto it = ours.find(key);
      BOOST_REQUIRE_MESSAGE(it != ours.end(), key << " is missing from our gradients");
      check_relative(it->second, expected, 1e-4f, key);
      ++compared;
    }
    BOOST_CHECK_EQUAL(compared, int(ours.size()));  // nothing extra, nothing missing
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(training)

BOOST_AUTO_TEST_CASE(gradients_match_pytorch_autograd_in_torch_names) {
  for (const char* cell : {"rnn", "lstm", "gru"})
    for (int layers : {1, 2})
      for (const char* loss : {"sum", "mse"}) check_torch_gradients(cell, layers, loss);
}

BOOST_AUTO_TEST_CASE(optimizers_match_torch_optim_for_20_steps) {
  const io::TensorMap f = io::read_safetensors(fixture("optim_fixtures.safetensors"));
  const auto configs = nlohmann::json::parse(io::read_file(fixture("optim_fixtures.json")));
  BOOST_REQUIRE_EQUAL(configs.size(), 6u);
  for (const auto& [name, c] : configs.items()) {
    BOOST_TEST_CONTEXT(name) {
      const Tensor p0 = f.at("p0").clone(), p1 = f.at("p1").clone();
      const models::Optimizer::Parameters params{{"p0", p0}, {"p1", p1}};
      std::unique_ptr<models::Optimizer> opt;
      if (c["optimizer"] == "adam")
        opt = std::make_unique<models::Adam>(
            params, models::AdamOptions{.lr = c["lr"],
                                        .beta1 = c["betas"][0],
                                        .beta2 = c["betas"][1],
                                        .eps = c["eps"],
                                        .weight_decay = c["weight_decay"]});
      else
        opt = std::make_unique<models::Sgd>(
            params,
            models::SgdOptions{
                .lr = c["lr"], .momentum = c["momentum"], .weight_decay = c["weight_decay"]});
      for (int64_t t = 0; t < 20; ++t) {
        const Tensor grads[] = {f.at("g0")[t].clone(), f.at("g1")[t].clone()};
        if (!c["max_norm"].is_null()) models::clip_grad_norm(grads, c["max_norm"].get<float>());
        opt->step(grads);
        if (t == 0) {
          check_relative(p0, f.at(name + "/p0_step1"), 1e-6f, "p0 after one step");
          check_relative(p1, f.at(name + "/p1_step1"), 1e-6f, "p1 after one step");
        }
      }
      check_relative(p0, f.at(name + "/p0"), 1e-6f, "p0 after 20 steps");
      check_relative(p1, f.at(name + "/p1"), 1e-6f, "p1 after 20 steps");
    }
  }
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_scales_to_the_limit) {
  const Tensor a({2}, {3, 0}), b({1}, {4});  // global norm 5
  const Tensor grads[] = {a, b};
  BOOST_CHECK_CLOSE(models::clip_grad_norm(grads, 1.0f), 5.0f, 1e-4);
  BOOST_CHECK_CLOSE(a.values()[0], 0.6f, 1e-3);
  BOOST_CHECK_CLOSE(b.values()[0], 0.8f, 1e-3);
  BOOST_CHECK_CLOSE(models::clip_grad_norm(grads, 10.0f), 1.0f, 1e-3);  // under: unchanged
  BOOST_CHECK_CLOSE(a.values()[0], 0.6f, 1e-3);
}

BOOST_AUTO_TEST_CASE(sine_lstm_converges_below_mse_0_01) {
  models::Trainer trainer({.task = models::Task::Sine,
                           .cell = models::Cell::Lstm,
                           .hidden_size = 32,
                           .iterations = 400,
                           .seed = 0});
  std::vector<float> losses;
  while (!trainer.done()) losses.push_back(trainer.iterate());
  double last = 0;
  for (std::size_t i = losses.size() - 20; i < losses.size(); ++i) last += losses[i] / 20;
  BOOST_TEST_MESSAGE("sine LSTM H=32: first loss "
                     << losses.front() << ", mean of the last 20 " << last << "; training arena "
                     << trainer.arena_bytes() / 50 << " bytes per step");
  BOOST_CHECK_GT(losses.front(), 0.1);
  BOOST_CHECK_LT(last, 0.01);
}

BOOST_AUTO_TEST_CASE(trainer_follows_pytorchs_exact_trajectory) {
  // The text task inside models::Trainer (batching, truncated BPTT with the state carried three
  // times and reset once, clipping that acts at every step, Adam) from PyTorch's initial
  // weights: every loss and every parameter after each of 5 iterations, against
  // make_torch_trajectory.py. Measured: losses equal to the last bit or two, parameters within
  // 1.3e-7 (from one weight's first Adam step); a trainer without the clipping errs by 1e-3
  // from the first step on. Held to 2e-6 (losses, about 4 ulps) and 1e-6 (parameters).
  const io::TensorMap f = io::read_safetensors(fixture("torch_trajectory.safetensors"));
  auto step_state = [&](const std::string& prefix) {
    io::TensorMap state;
    for (const auto& [name, t] : f)
      if (name.starts_with(prefix + "/")) state.emplace(name.substr(prefix.size() + 1), t);
    return state;
  };
  const float clip = 0.1f;
  models::Trainer trainer({.task = models::Task::Text,
                           .text = "/usr/share/common-licenses/GPL-3",
                           .cell = models::Cell::Lstm,
                           .hidden_size = 32,
                           .steps = 64,
                           .batch = 128,
                           .iterations = 5,
                           .optimizer = "adam",
                           .lr = 5e-3,
                           .clip = clip,
                           .seed = 0});
  io::TensorMap headless = step_state("initial");
  headless.erase("out.weight");
  const io::TensorMap before = models::parameters(trainer.graph());
  BOOST_CHECK_THROW(trainer.load_weights(headless), FormatError);    // no partial start...
  for (const auto& [name, t] : models::parameters(trainer.graph()))  // ...and nothing changed
    rnngraph::testing::check_close(t, before.at(name), 0, name);
  trainer.load_weights(step_state("initial"));
  const Tensor& losses = f.at("losses");
  const Tensor& norms = f.at("grad_norms");
  for (int64_t k = 1; k <= 5; ++k) {
    BOOST_TEST_CONTEXT("iteration " << k) {
      BOOST_REQUIRE_GT(norms.values()[std::size_t(k - 1)], clip);  // the clipping acts
      const float loss = trainer.iterate();
      BOOST_CHECK_MESSAGE(std::fabs(loss - losses.values()[std::size_t(k - 1)]) <= 2e-6,
                          "loss " << loss << " vs PyTorch's " << losses.values()[k - 1]);
      const io::TensorMap ours =
          models::torch_state_dict(models::parameters(trainer.graph()), trainer.model());
      const io::TensorMap theirs = step_state(fmt::format("step{}", k));
      BOOST_REQUIRE_EQUAL(ours.size(), theirs.size());
      rnngraph::testing::Worst worst;
      for (const auto& [name, expected] : theirs) {
        const auto d = rnngraph::testing::check_close(ours.at(name), expected, 1e-6, name);
        worst.add(d.worst.error, [&name = name, &d] { return name + d.worst.where; });
      }
      BOOST_TEST_MESSAGE("iteration " << k << ": loss differs by "
                                      << loss - losses.values()[std::size_t(k - 1)]
                                      << ", largest parameter difference " << worst.error << " at "
                                      << worst.where);
    }
  }
  BOOST_CHECK_THROW(trainer.load_weights(step_state("initial")), GraphError);  // too late
}

// A smoke test of longer training: the final loss near PyTorch's (the exact trajectory is
// trainer_follows_pytorchs_exact_trajectory).
BOOST_AUTO_TEST_CASE(text_lstm_ends_within_5_percent_of_pytorch) {
  const auto ref = nlohmann::json::parse(io::read_file(fixture("text_reference.json")));
  const fs::path corpus = "/usr/share/common-licenses/GPL-3";
  BOOST_REQUIRE_MESSAGE(fs::exists(corpus), corpus << " is on every Debian machine");
  double ours = 0;
  for (uint64_t seed : {1, 2, 3}) {
    models::Trainer trainer({.task = models::Task::Text,
                             .text = corpus,
                             .cell = models::Cell::Lstm,
                             .hidden_size = 64,
                             .steps = 64,
                             .batch = 32,
                             .iterations = 300,
                             .optimizer = "adam",
                             .lr = 3e-3,
                             .clip = 5,
                             .seed = seed});
    BOOST_REQUIRE_EQUAL(trainer.model().vocab_size, ref["vocab_size"].get<int64_t>());
    std::vector<float> losses;
    while (!trainer.done()) losses.push_back(trainer.iterate());
    double last = 0;
    for (std::size_t i = losses.size() - 20; i < losses.size(); ++i) last += losses[i] / 20;
    BOOST_TEST_MESSAGE("text seed " << seed << ": first " << losses.front() << ", last 20 "
                                    << last);
    ours += last / 3;
  }
  const double torch = ref["final_mean_last20"];
  BOOST_TEST_MESSAGE("text LSTM: ours " << ours << " nats, PyTorch " << torch);
  BOOST_CHECK_LE(std::fabs(ours - torch), 0.05 * torch);
}

BOOST_AUTO_TEST_CASE(a_resumed_run_gives_the_uninterrupted_losses) {
  // The text task, so the carried BPTT state and a reset of the streams (every 17 chunks here)
  // are part of what must survive the checkpoint.
  const models::TrainConfig c{.task = models::Task::Text,
                              .text = "/usr/share/common-licenses/GPL-3",
                              .cell = models::Cell::Gru,
                              .hidden_size = 16,
                              .steps = 32,
                              .batch = 64,
                              .iterations = 40,
                              .lr = 3e-3,
                              .clip = 1,
                              .seed = 9};
  models::Trainer whole(c);
  std::vector<float> expected;
  while (!whole.done()) expected.push_back(whole.iterate());

  models::Trainer first(c);
  for (int i = 0; i < 23; ++i) first.iterate();
  const fs::path checkpoint = work_dir() / "resume.json";
  first.save(checkpoint);
  auto rest = models::Trainer::resume(checkpoint);
  BOOST_CHECK_EQUAL(rest->iteration(), 23);
  for (std::size_t i = 23; i < expected.size(); ++i)
    BOOST_CHECK_CLOSE_FRACTION(rest->iterate(), expected[i], 1e-6);
  BOOST_CHECK(rest->done());
}

// Dropout: masks where PyTorch puts them (each layer's output but the last's, a mask per step),
// variational masks on h_{t-1} (one per sequence), checked against the model run layer by layer
// and step by step with the masks applied by hand; identity outside training; reproducible.
BOOST_AUTO_TEST_CASE(dropout_masks_apply_where_they_should) {
  const int64_t T = 5, B = 3;
  models::Config c{.cell = models::Cell::Lstm,
                   .input_size = 2,
                   .hidden_size = 4,
                   .steps = T,
                   .batch = B,
                   .layers = 2,
                   .seed = 4,
                   .bidirectional = true,
                   .dropout = 0.5f,
                   .recurrent_dropout = 0.0f,
                   .training = true};
  const models::Model m(c);
  const Tensor x = init::normal(0, 1, 3).tensor({T, B, 2});
  Feeds feeds = models::dropout_masks(c, T, B, 11);
  BOOST_REQUIRE(feeds.contains("dropout_l0"));
  feeds.emplace("x", x);
  feeds.emplace("h0", Tensor({4, B, 4}));
  feeds.emplace("c0", Tensor({4, B, 4}));
  const auto g = models::unroll(c, m.weights(), T, B);
  const Tensor y = Executor(*g).run(feeds)["y"].clone();
  // By hand: layer 0 alone, its output times the mask, then layer 1 alone (its weights as l0).
  models::Config one = c;
  one.layers = 1, one.dropout = 0, one.training = false;
  io::TensorMap layer0, layer1;
  for (const auto& [name, w] : m.weights()) {
    if (name.find("_l0") != std::string::npos) layer0.emplace(name, w);
    if (const auto at = name.find("_l1"); at != std::string::npos)
      layer1.emplace(name.substr(0, at) + "_l0" + name.substr(at + 3), w);
  }
  Tensor h = Executor(*models::unroll(one, layer0, T, B))
                 .run({{"x", x}, {"h0", Tensor({2, B, 4})}, {"c0", Tensor({2, B, 4})}})["y"]
                 .clone();
  for (int64_t i = 0; i < h.numel(); ++i) h.data()[i] *= feeds.at("dropout_l0").data()[i];
  one.input_size = 8;
  const Tensor expected =
      Executor(*models::unroll(one, layer1, T, B))
          .run({{"x", h}, {"h0", Tensor({2, B, 4})}, {"c0", Tensor({2, B, 4})}})["y"]
          .clone();
  rnngraph::testing::check_close(y, expected, 1e-6, "y with dropout between layers");
  BOOST_TEST(rnngraph::testing::difference(y, models::Model(c).run({{"x", x}})["y"]).worst.error >
             1e-2);

  // Variational: h_{t-1} times one mask per sequence as the step reads it; the state carried
  // (and c) undropped. By hand: one step at a time.
  models::Config r{.cell = models::Cell::Gru,
                   .input_size = 2,
                   .hidden_size = 4,
                   .steps = T,
                   .batch = B,
                   .seed = 6,
                   .recurrent_dropout = 0.5f,
                   .training = true};
  const models::Model rm(r);
  Feeds rf = models::dropout_masks(r, T, B, 12);
  const Tensor mask = rf.at("recurrent_dropout").clone();
  rf.emplace("x", x);
  rf.emplace("h0", Tensor({1, B, 4}));
  const Tensor ry = Executor(*models::unroll(r, rm.weights(), T, B)).run(rf)["y"].clone();
  models::Config step = r;
  step.training = false;
  Executor one_step(*models::unroll(step, rm.weights(), 1, B));
  Tensor state({1, B, 4}), by_hand({T, B, 4});
  for (int64_t t = 0; t < T; ++t) {
    Tensor read = state.clone();
    for (int64_t i = 0; i < read.numel(); ++i) read.data()[i] *= mask.data()[i];
    const Tensor out =
        one_step.run({{"x", rnngraph::testing::rows(x, t, t + 1)}, {"h0", read}})["y"];
    std::copy_n(out.data(), B * 4, by_hand.data() + t * B * 4);
    std::copy_n(out.data(), B * 4, state.data());  // the undropped h carries on
  }
  rnngraph::testing::check_close(ry, by_hand, 1e-6, "y with recurrent dropout");
}

BOOST_AUTO_TEST_CASE(dropout_is_identity_outside_training_and_reproducible_in_it) {
  models::Config c{
      .cell = models::Cell::Lstm, .input_size = 3, .hidden_size = 5, .layers = 2, .seed = 2};
  models::Model plain(c);
  c.dropout = 0.3f, c.recurrent_dropout = 0.3f;
  models::Model dropped(c);  // the same seed: the same weights
  const Tensor x = init::normal(0, 1, 5).tensor({6, 2, 3});
  rnngraph::testing::check_close(dropped.run({{"x", x}})["y"], plain.run({{"x", x}})["y"], 0,
                                 "run ignores dropout");
  BOOST_TEST(models::recipe(c).at("dropout") == "0.3");
  BOOST_TEST(models::config_from_recipe(models::recipe(c)).recurrent_dropout == 0.3f);

  const models::TrainConfig t{.cell = models::Cell::Lstm,
                              .hidden_size = 8,
                              .layers = 2,
                              .steps = 10,
                              .batch = 4,
                              .iterations = 12,
                              .seed = 3,
                              .dropout = 0.3f,
                              .recurrent_dropout = 0.3f};
  models::Trainer a(t), b(t);
  models::TrainConfig no_dropout = t;
  no_dropout.dropout = no_dropout.recurrent_dropout = 0;
  models::Trainer none(no_dropout);
  std::vector<float> losses;
  for (int i = 0; i < 6; ++i) {
    losses.push_back(a.iterate());
    BOOST_TEST(b.iterate() == losses.back());
  }
  BOOST_TEST(none.iterate() != losses[0]);
  // Resumed, the run draws the masks it would have drawn.
  a.save(work_dir() / "dropout.json");
  auto resumed = models::Trainer::resume(work_dir() / "dropout.json");
  BOOST_TEST(resumed->config().dropout == 0.3f);
  for (int i = 0; i < 6; ++i) BOOST_TEST(resumed->iterate() == b.iterate());
}

BOOST_AUTO_TEST_CASE(train_save_run_info_sample_on_the_command_line) {
  auto r =
      cli("train --task text --text /usr/share/common-licenses/GPL-3 --model lstm "
          "--hidden-size 16 --steps 16 --batch 8 --iterations 12 --log text.csv "
          "--save text.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  BOOST_CHECK(r.out.starts_with("final loss: "));
  const std::string log = io::read_file(work_dir() / "text.csv");
  BOOST_CHECK(log.starts_with("iteration,seconds,loss\n"));
  BOOST_CHECK_EQUAL(std::count(log.begin(), log.end(), '\n'), 13);
  // a character model's loss in bits: nats / ln 2
  const std::size_t at = r.err.rfind("loss ");
  BOOST_REQUIRE(at != std::string::npos);
  const double nats = std::stod(r.err.substr(at + 5)),
               bits = std::stod(r.err.substr(r.err.find('(', at) + 1));
  BOOST_CHECK_MESSAGE(std::abs(bits - nats / std::log(2.0)) < 2e-3, r.err);
  BOOST_CHECK(r.err.find("bits/char") != std::string::npos);
  BOOST_CHECK(io::read_file(work_dir() / "text.svg").starts_with("<?xml version=\"1.0\""));
  BOOST_CHECK(fs::exists(work_dir() / "text.safetensors"));

  r = cli("sample text.json --length 40 --prime 'The ' --seed 2");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  BOOST_CHECK(r.out.starts_with("The "));
  BOOST_CHECK_EQUAL(r.out.size(), 4u + 40u + 1u);
  BOOST_CHECK_EQUAL(cli("sample text.json --length 40 --prime 'The ' --seed 2").out, r.out);

  r = cli("info text.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  BOOST_CHECK(r.out.find("tokens") != std::string::npos);

  r =
      cli("train --task sine --model gru --hidden-size 8 --steps 10 --batch 4 --iterations 5 "
          "--save sine.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  io::write_npy(work_dir() / "x.npy", init::normal(0, 1, 3).tensor({10, 4, 1}));
  r = cli("run sine.json --input x.npy -o y.npy");  // a trained model runs like a built one
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  r = cli("train --resume sine.json --iterations 8");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  BOOST_CHECK(r.err.find("from iteration 6 to 8") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_training_usage_exits_2) {
  for (const char* args :
       {"train --task dance --model lstm --hidden-size 4 --iterations 2",
        "train --task text --model lstm --hidden-size 4 --iterations 2",
        "train --task sine --model lstm --hidden-size 4 --iterations 2 --lr -1",
        "train --task sine --model lstm --hidden-size 4 --iterations 2 --optimizer rmsprop",
        "train --resume missing.json --iterations 3", "sample missing.json --length 3",
        "grad missing.json --input x.npy -o g.safetensors",
        "grad missing.json --input x.npy --loss mse -o g.safetensors"}) {
    const auto r = cli(args);
    BOOST_TEST_CONTEXT(args) {
      BOOST_CHECK_EQUAL(r.code, 2);
      BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
