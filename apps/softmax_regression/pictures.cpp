#include "pictures.h"

#include "format.h"

#include <ember/core/error.h>
#include <ember/core/file.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

namespace app {

namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The tick step for a range: 1, 2, 2.5 or 5 times a power of ten, giving at most ~`most` ticks.
double nice_step(double range, int most) {
  double raw = range / most;
  double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * power >= raw) return m * power;
  return 10.0 * power;
}

// Tick labels without trailing zeros: 0.2, 0.25, 1.
std::string tick_label(double v, double step) {
  int decimals = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  if (std::fabs(step * std::pow(10.0, decimals) - std::round(step * std::pow(10.0, decimals))) >
      1e-9)
    ++decimals;  // 0.25
  return format("%.*f", decimals, std::fabs(v) < 1e-12 ? 0.0 : v);
}

std::string base64(const std::vector<std::uint8_t>& bytes) {
  static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint32_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= bytes[i + 2];
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? table[n & 63] : '=';
  }
  return out;
}

// --- cairo: the PNG grid and every PNG image ---

// Owners that release cairo objects whatever happens.
struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

Surface make_surface(std::int64_t width, std::int64_t height) {
  if (width < 1 || height < 1 || width > 32767 || height > 32767)
    throw RuntimeError(
        format("PNG: cannot draw a %lld x %lld picture", (long long)width, (long long)height),
        "use a smaller --predict-count");
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(width),
                                             static_cast<int>(height)));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
    throw RuntimeError(
        std::string("PNG: ") + cairo_status_to_string(cairo_surface_status(surface.get())),
        "out of memory?");
  return surface;
}

// Pixels (gray or RGB, rows top to bottom) copied into an RGB24 surface.
Surface surface_from(const std::vector<std::uint8_t>& pixels, std::int64_t width,
                     std::int64_t height, int channels) {
  Surface surface = make_surface(width, height);
  cairo_surface_flush(surface.get());
  unsigned char* data = cairo_image_surface_get_data(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  for (std::int64_t y = 0; y < height; ++y) {
    auto* row = reinterpret_cast<std::uint32_t*>(data + y * stride);
    for (std::int64_t x = 0; x < width; ++x) {
      const std::size_t i = static_cast<std::size_t>((y * width + x) * channels);
      const std::uint32_t r = pixels[i], g = channels == 1 ? r : pixels[i + 1],
                          b = channels == 1 ? r : pixels[i + 2];
      row[x] = r << 16 | g << 8 | b;  // RGB24: native-endian xRGB
    }
  }
  cairo_surface_mark_dirty(surface.get());
  return surface;
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(closure);
  out->insert(out->end(), data, data + length);
  return CAIRO_STATUS_SUCCESS;
}

std::vector<std::uint8_t> png_of(cairo_surface_t* surface) {
  std::vector<std::uint8_t> png;
  const cairo_status_t status = cairo_surface_write_to_png_stream(surface, append_bytes, &png);
  if (status != CAIRO_STATUS_SUCCESS)
    throw RuntimeError(std::string("PNG: ") + cairo_status_to_string(status), "out of memory?");
  return png;
}

// cairo and fontconfig keep font caches for the whole process. Released at exit, so that leak
// checkers (LeakSanitizer in the sanitize preset) see only real leaks.
void release_font_caches_at_exit() {
  static const bool registered = [] {
    std::atexit([] {
      cairo_debug_reset_static_data();
      FcFini();
    });
    return true;
  }();
  (void)registered;
}

// `text` centred on cx with its baseline at y, shrunk to fit `width` if it must.
void centred_text(cairo_t* cr, const std::string& text, double cx, double y, double width) {
  cairo_set_font_size(cr, 12);
  cairo_text_extents_t extents{};
  cairo_text_extents(cr, text.c_str(), &extents);
  if (extents.x_advance > width) {
    cairo_set_font_size(cr, 12 * width / extents.x_advance);
    cairo_text_extents(cr, text.c_str(), &extents);
  }
  cairo_move_to(cr, cx - extents.x_advance / 2, y);
  cairo_show_text(cr, text.c_str());
}

}  // namespace

std::vector<std::uint8_t> encode_png(const std::vector<std::uint8_t>& pixels, std::int64_t width,
                                     std::int64_t height, int channels) {
  Surface surface = surface_from(pixels, width, height, channels);
  return png_of(surface.get());
}

std::string curves_svg(const std::vector<EpochMetrics>& history, const std::string& title) {
  constexpr double kW = 640, kH = 440, kLeft = 64, kRight = 24, kTop = 76, kBottom = 56;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  const std::int64_t n = history.empty() ? 1 : history.back().epoch;

  struct Series {
    const char* id;
    const char* label;
    const char* colour;
    const char* dash;  // d2l's Animator formats: '-', 'm--', 'g-.'
    double EpochMetrics::*field;
  };
  const Series series[] = {
      {"train-loss", "train loss", "#1f77b4", "", &EpochMetrics::train_loss},
      {"train-acc", "train acc", "#bf00bf", "8 5", &EpochMetrics::train_acc},
      {"test-acc", "test acc", "#008000", "9 4 2 4", &EpochMetrics::test_acc},
  };

  double lo = 0.0, hi = 1.0;
  bool any = false;
  for (const EpochMetrics& m : history)
    for (const Series& s : series) {
      double v = m.*s.field;
      if (!std::isfinite(v)) continue;
      lo = any ? std::min(lo, v) : v;
      hi = any ? std::max(hi, v) : v;
      any = true;
    }
  if (!any) lo = 0.0, hi = 1.0;
  double ystep = nice_step(std::max(hi - lo, 0.1), 6);
  double ymin = std::floor(lo / ystep) * ystep, ymax = std::ceil(hi / ystep) * ystep;
  if (ymax - ymin < ystep) ymax = ymin + ystep;
  double xmin = 1, xmax = static_cast<double>(std::max<std::int64_t>(n, 2));
  if (n == 1) xmin = 0, xmax = 2;
  auto px = [&](double x) {
    return kLeft + (x - xmin) / (xmax - xmin) * pw;
  };
  auto py = [&](double y) {
    return kTop + (ymax - y) / (ymax - ymin) * ph;
  };

  std::string svg = format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
      "viewBox=\"0 0 %g %g\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
      "font-size=\"12\">\n",
      kW, kH, kW, kH);
  svg += format("<rect width=\"%g\" height=\"%g\" fill=\"white\"/>\n", kW, kH);
  svg += format("<text x=\"%g\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n",
                kW / 2, xml_escape(title).c_str());

  // Grid lines and ticks.
  svg += "<g id=\"grid\" stroke=\"#e0e0e0\" stroke-width=\"1\">\n";
  std::string labels;
  for (double y = ymin; y <= ymax + ystep * 1e-6; y += ystep) {
    svg += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", kLeft, py(y),
                  kLeft + pw, py(y));
    labels += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                     kLeft - 5, py(y), kLeft, py(y));
    labels += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", kLeft - 8,
                     py(y) + 4, tick_label(y, ystep).c_str());
  }
  std::int64_t xstep = static_cast<std::int64_t>(std::max(1.0, nice_step(xmax - xmin, 10)));
  for (std::int64_t x = static_cast<std::int64_t>(xmin); x <= static_cast<std::int64_t>(xmax);
       x += xstep) {
    if (x == 0 && n == 1) continue;
    svg += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px(double(x)), kTop,
                  px(double(x)), kTop + ph);
    labels += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                     px(double(x)), kTop + ph, px(double(x)), kTop + ph + 5);
    labels += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%lld</text>\n",
                     px(double(x)), kTop + ph + 19, (long long)x);
  }
  svg += "</g>\n<g id=\"axes\">\n";
  svg += format(
      "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"black\"/>\n",
      kLeft, kTop, pw, ph);
  svg += labels;
  svg += format("<text x=\"%g\" y=\"%g\" text-anchor=\"middle\" font-size=\"13\">epoch</text>\n",
                kLeft + pw / 2, kH - 14);
  svg += "</g>\n";

  // The three series, each a polyline with a marker at every epoch (non-finite values skipped).
  for (const Series& s : series) {
    std::string points, markers;
    for (const EpochMetrics& m : history) {
      double v = m.*s.field;
      if (!std::isfinite(v)) continue;
      double x = px(static_cast<double>(m.epoch)), y = py(v);
      points += format("%s%.2f,%.2f", points.empty() ? "" : " ", x, y);
      markers += format("<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\"/>\n", x, y);
    }
    svg += format("<g class=\"series\" fill=\"%s\">\n", s.colour);
    svg += format(
        "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
        "points=\"%s\"><title>%s</title></polyline>\n",
        s.id, s.colour, *s.dash ? format(" stroke-dasharray=\"%s\"", s.dash).c_str() : "",
        points.c_str(), s.label);
    svg += markers + "</g>\n";
  }

  // Legend: a row between the title and the plot.
  svg += "<g id=\"legend\">\n";
  double lx = kLeft + pw / 2 - 3 * 120 / 2.0;
  for (const Series& s : series) {
    svg += format(
        "<line x1=\"%.1f\" y1=\"50\" x2=\"%.1f\" y2=\"50\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
        lx, lx + 30, s.colour, *s.dash ? format(" stroke-dasharray=\"%s\"", s.dash).c_str() : "");
    svg += format("<text x=\"%.1f\" y=\"54\">%s</text>\n", lx + 36, s.label);
    lx += 120;
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

std::string predictions_svg(const std::vector<Prediction>& images, std::int64_t columns) {
  constexpr double kScale = 3, kCellW = 132, kTextH = 40, kPad = 10;
  const std::int64_t count = static_cast<std::int64_t>(images.size());
  const std::int64_t cols = std::max<std::int64_t>(1, std::min(columns, count));
  const std::int64_t rows = (count + cols - 1) / cols;
  const double image_h = images.empty() ? 28 * kScale : double(images[0].height) * kScale;
  const double cell_h = kTextH + image_h + kPad;
  const double w = double(cols) * kCellW + kPad, h = double(rows) * cell_h + kPad;
  std::string svg = format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
      "width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"11\">\n",
      w, h, w, h);
  svg += format("<rect width=\"%g\" height=\"%g\" fill=\"white\"/>\n", w, h);
  for (std::int64_t i = 0; i < count; ++i) {
    const Prediction& p = images[static_cast<std::size_t>(i)];
    double x = kPad / 2 + double(i % cols) * kCellW, y = kPad + double(i / cols) * cell_h;
    double cx = x + kCellW / 2, iw = double(p.width) * kScale, ih = double(p.height) * kScale;
    bool right = p.truth == p.predicted;
    std::string uri = "data:image/png;base64," + base64(encode_png(p.pixels, p.width, p.height, 1));
    svg += format("<g class=\"prediction\" data-index=\"%lld\">\n", (long long)i);
    svg += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">true: %s</text>\n", cx,
                  y + 13, xml_escape(p.truth).c_str());
    svg += format(
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">predicted: %s</text>\n", cx,
        y + 29, right ? "#008000" : "#d00000", xml_escape(p.predicted).c_str());
    svg += format(
        "<image x=\"%.1f\" y=\"%.1f\" width=\"%g\" height=\"%g\" "
        "style=\"image-rendering:pixelated\" preserveAspectRatio=\"none\" ",
        cx - iw / 2, y + kTextH - 4, iw, ih);
    svg += "href=\"" + uri + "\" xlink:href=\"" + uri + "\"/>\n</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

std::vector<std::uint8_t> predictions_png(const std::vector<Prediction>& images,
                                          std::int64_t columns) {
  constexpr std::int64_t kScale = 4, kCellW = 132, kPad = 8, kLine = 16;
  const std::int64_t count = static_cast<std::int64_t>(images.size());
  const std::int64_t cols = std::max<std::int64_t>(1, std::min(columns, count));
  const std::int64_t rows = (count + cols - 1) / cols;
  const std::int64_t image_h = images.empty() ? 28 * kScale : images[0].height * kScale;
  const std::int64_t cell_h = kPad + 2 * kLine + 6 + image_h + kPad;
  Surface surface = make_surface(cols * kCellW, rows * cell_h);
  Context context(cairo_create(surface.get()));
  cairo_t* cr = context.get();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  release_font_caches_at_exit();
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  for (std::int64_t i = 0; i < count; ++i) {
    const Prediction& p = images[static_cast<std::size_t>(i)];
    const double x = double((i % cols) * kCellW), y = double((i / cols) * cell_h + kPad);
    const double cx = x + kCellW / 2.0, text_w = kCellW - 6.0;
    // The labels say in words which is which; the prediction is green when right, red when not.
    cairo_set_source_rgb(cr, 0, 0, 0);
    centred_text(cr, "true: " + p.truth, cx, y + 12, text_w);
    const bool right = p.truth == p.predicted;
    cairo_set_source_rgb(cr, right ? 0 : 0.82, right ? 0.5 : 0, 0);
    centred_text(cr, "predicted: " + p.predicted, cx, y + kLine + 12, text_w);
    // The image, each pixel a kScale x kScale square (nearest neighbour, no smoothing).
    Surface image = surface_from(p.pixels, p.width, p.height, 1);
    cairo_save(cr);
    cairo_translate(cr, cx - double(p.width * kScale) / 2, y + 2 * kLine + 6);
    cairo_scale(cr, kScale, kScale);
    cairo_set_source_surface(cr, image.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
  }
  cairo_surface_flush(surface.get());
  return png_of(surface.get());
}

void write_output_file(const std::string& path, const std::string& bytes) {
  try {
    ember::core::write_file_atomically(path, std::as_bytes(std::span(bytes)));
  } catch (const ember::Error& e) {
    throw RuntimeError(e.what(), "check that the folder exists, is writable and has free space");
  }
}

}  // namespace app
