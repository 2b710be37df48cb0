// The app's one model factory and its optimizer: every model the app trains (d2l chapters 3 to 8)
// with d2l's default hyperparameters, and SGD or Adam behind one interface, so the training loop,
// metrics, plots and checkpoints in app.cpp never depend on which model or optimizer runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ember/ember.h>

#include "app.h"

namespace app {

// A model the app knows: its --model name, its layers for --help, and d2l's settings for it.
struct ModelSpec {
  std::string name;    // --model NAME
  std::string layers;  // for --help: "Flatten-Linear(784,10)"
  std::string source;  // where d2l trains it: "d2l 3.7"
  double lr = 0.1;     // d2l's SGD learning rate
  std::int64_t batch_size = 256;
  std::int64_t epochs = 10;
};

// Every model, in the order --help lists them; the first is the default.
const std::vector<ModelSpec>& models();
// The model called `name`; throws UsageError listing the names when there is none.
const ModelSpec& model_spec(const std::string& name);
// The --model names, for CLI11's IsMember check.
std::vector<std::string> model_names();

// Adam's default learning rate (torch.optim.Adam's), used with --optimizer adam for every model
// unless --lr is given.
inline constexpr double kAdamDefaultLr = 1e-3;

// Builds model `name` for float32 images [N, 1, H, W] (the DataLoader's batches) and `classes`
// outputs, drawing its initial weights from `gen` as d2l initializes it. Throws UsageError for an
// unknown name.
ember::nn::Sequential make_model(const std::string& name, std::int64_t height, std::int64_t width,
                                 std::int64_t classes, ember::Generator& gen);

// SGD (lr, momentum, weight decay) or Adam (lr, weight decay as L2; betas and eps at PyTorch's
// defaults), as --optimizer says.
class Optimizer {
 public:
  Optimizer(const Settings& s, std::vector<ember::Tensor> params);
  void zero_grad();
  void step();
  // The command line's hyperparameters over the ones a checkpoint restored (--resume).
  void set_hyperparameters(const Settings& s);
  // "SGD lr 0.9 momentum 0 weight decay 0" or "Adam lr 0.001 betas (0.9, 0.999) ..."
  std::string describe() const;
  // ember::save / ember::load of the optimizer's state (SGD's momentum buffers, Adam's moments
  // and step counts). Throw ember::Error.
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  std::unique_ptr<ember::optim::SGD> sgd_;
  std::unique_ptr<ember::optim::Adam> adam_;
};

}  // namespace app
