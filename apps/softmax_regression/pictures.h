// The app's pictures: d2l's training curves as an SVG chart, and d2l's predict_ch3 grid (test
// images with true and predicted labels) as SVG or PNG. Written atomically (temporary file and
// rename); failures throw RuntimeError naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app.h"

namespace app {

// train loss, train acc and test acc against epoch, with axes, ticks, grid and a legend. The
// series are <polyline> elements with ids "train-loss", "train-acc" and "test-acc".
std::string curves_svg(const std::vector<EpochMetrics>& history, const std::string& title);

// One test image: H x W gray pixels (0 black .. 255 white as stored; drawn as d2l shows them,
// light object on dark ground), its true and predicted class names.
struct Prediction {
  std::vector<std::uint8_t> pixels;
  std::int64_t height = 0, width = 0;
  std::string truth, predicted;
};

// The grid, `columns` images a row, each titled with the true label over the predicted one
// (green when right, red when wrong), the lines labelled "true:" and "predicted:". The PNG is
// drawn with cairo (DejaVu Sans, antialiased; the images pixel for pixel, scaled 4x).
std::string predictions_svg(const std::vector<Prediction>& images, std::int64_t columns);
std::vector<std::uint8_t> predictions_png(const std::vector<Prediction>& images,
                                          std::int64_t columns);

// An 8-bit PNG: channels 1 (gray) or 3 (RGB), rows top to bottom, encoded by cairo.
std::vector<std::uint8_t> encode_png(const std::vector<std::uint8_t>& pixels, std::int64_t width,
                                     std::int64_t height, int channels);

// Writes bytes to path crash-safely with ember::core::write_file_atomically; a failure throws
// RuntimeError naming the file and the system's reason.
void write_output_file(const std::string& path, const std::string& bytes);

}  // namespace app
