#include "pictures.h"

#include "format.h"

#include <ember/nn/checkpoint.h>

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// A 5x7 bitmap font for the PNG grid's labels: upper-case letters, digits, '-' and '/'. Each
// glyph is seven rows of five pixels, '#' set.
const char* glyph(char c) {
  // clang-format off
  switch (c) {
    case 'A': return ".###.#...##...#######...##...##...#";
    case 'B': return "####.#...##...#####.#...##...#####.";
    case 'C': return ".###.#...##....#....#....#...#.###.";
    case 'D': return "####.#...##...##...##...##...#####.";
    case 'E': return "######....#....####.#....#....#####";
    case 'F': return "######....#....####.#....#....#....";
    case 'G': return ".###.#...##....#.####...##...#.####";
    case 'H': return "#...##...##...#######...##...##...#";
    case 'I': return ".###...#....#....#....#....#...###.";
    case 'J': return "..###...#....#....#....#.#..#..##..";
    case 'K': return "#...##..#.#.#..##...#.#..#..#.#...#";
    case 'L': return "#....#....#....#....#....#....#####";
    case 'M': return "#...###.###.#.##.#.##...##...##...#";
    case 'N': return "#...##...###..##.#.##..###...##...#";
    case 'O': return ".###.#...##...##...##...##...#.###.";
    case 'P': return "####.#...##...#####.#....#....#....";
    case 'Q': return ".###.#...##...##...##.#.##..#..##.#";
    case 'R': return "####.#...##...#####.#.#..#..#.#...#";
    case 'S': return ".#####....#.....###.....#....#####.";
    case 'T': return "#####..#....#....#....#....#....#..";
    case 'U': return "#...##...##...##...##...##...#.###.";
    case 'V': return "#...##...##...##...##...#.#.#...#..";
    case 'W': return "#...##...##...##.#.##.#.##.#.#.#.#.";
    case 'X': return "#...##...#.#.#...#...#.#.#...##...#";
    case 'Y': return "#...##...#.#.#...#....#....#....#..";
    case 'Z': return "#####....#...#...#...#...#....#####";
    case '0': return ".###.#...##..###.#.###..##...#.###.";
    case '1': return "..#...##....#....#....#....#...###.";
    case '2': return ".###.#...#....#...#...#...#...#####";
    case '3': return "#####...#...#.....#.....##...#.###.";
    case '4': return "...#...##..#.#.#..#.#####...#....#.";
    case '5': return "######....####.....#....##...#.###.";
    case '6': return "..##..#...#....####.#...##...#.###.";
    case '7': return "#####....#...#...#...#....#....#...";
    case '8': return ".###.#...##...#.###.#...##...#.###.";
    case '9': return ".###.#...##...#.####....#...#..##..";
    case '-': return "...............#####...............";
    case '/': return "....#....#...#...#...#...#....#....";
    default: return nullptr;  // a space, or a character the font lacks: left blank
  }
  // clang-format on
}

constexpr int kGlyphW = 5, kGlyphH = 7;

// An RGB canvas for the PNG grid.
struct Canvas {
  std::int64_t width, height;
  std::vector<std::uint8_t> rgb;
  Canvas(std::int64_t w, std::int64_t h)
      : width(w), height(h), rgb(static_cast<std::size_t>(w * h * 3), 255) {}
  void set(std::int64_t x, std::int64_t y, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    std::size_t i = static_cast<std::size_t>((y * width + x) * 3);
    rgb[i] = r;
    rgb[i + 1] = g;
    rgb[i + 2] = b;
  }
  // Upper-cased text centred on cx, its top at y, each font pixel `scale` pixels wide.
  void text(const std::string& s, std::int64_t cx, std::int64_t y, int scale, std::uint8_t r,
            std::uint8_t g, std::uint8_t b) {
    std::int64_t advance = (kGlyphW + 1) * scale;
    std::int64_t x0 = cx - (static_cast<std::int64_t>(s.size()) * advance - scale) / 2;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char* bits = glyph(static_cast<char>(std::toupper(static_cast<unsigned char>(s[i]))));
      if (!bits) continue;
      for (int row = 0; row < kGlyphH; ++row)
        for (int col = 0; col < kGlyphW; ++col)
          if (bits[row * kGlyphW + col] == '#')
            for (int dy = 0; dy < scale; ++dy)
              for (int dx = 0; dx < scale; ++dx)
                set(x0 + static_cast<std::int64_t>(i) * advance + col * scale + dx,
                    y + row * scale + dy, r, g, b);
    }
  }
};

void append_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void append_chunk(std::vector<std::uint8_t>& out, const char type[5],
                  const std::vector<std::uint8_t>& data) {
  append_u32(out, static_cast<std::uint32_t>(data.size()));
  std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  // The CRC covers the chunk type and data (PNG spec, 5.3).
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, out.data() + start, static_cast<uInt>(out.size() - start));
  append_u32(out, static_cast<std::uint32_t>(crc));
}

}  // namespace

std::vector<std::uint8_t> encode_png(const std::vector<std::uint8_t>& pixels, std::int64_t width,
                                     std::int64_t height, int channels) {
  const std::size_t row_bytes = static_cast<std::size_t>(width * channels);
  // Each row is preceded by its filter type, 0 (none).
  std::vector<std::uint8_t> raw;
  raw.reserve(static_cast<std::size_t>(height) * (row_bytes + 1));
  for (std::int64_t y = 0; y < height; ++y) {
    raw.push_back(0);
    auto row =
        pixels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(y) * row_bytes);
    raw.insert(raw.end(), row, row + static_cast<std::ptrdiff_t>(row_bytes));
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<std::uint8_t> packed(packed_size);
  if (compress2(packed.data(), &packed_size, raw.data(), static_cast<uLong>(raw.size()), 9) != Z_OK)
    throw RuntimeError("PNG: zlib's compress2 failed", "out of memory?");
  packed.resize(packed_size);

  std::vector<std::uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<std::uint8_t> header;
  append_u32(header, static_cast<std::uint32_t>(width));
  append_u32(header, static_cast<std::uint32_t>(height));
  header.push_back(8);                      // bit depth
  header.push_back(channels == 1 ? 0 : 2);  // colour type: gray or RGB
  header.push_back(0);                      // deflate
  header.push_back(0);                      // adaptive filtering
  header.push_back(0);                      // no interlace
  append_chunk(out, "IHDR", header);
  append_chunk(out, "IDAT", packed);
  append_chunk(out, "IEND", {});
  return out;
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
  constexpr double kScale = 3, kCellW = 112, kTextH = 40, kPad = 10;
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
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
      w, h, w, h);
  svg += format("<rect width=\"%g\" height=\"%g\" fill=\"white\"/>\n", w, h);
  for (std::int64_t i = 0; i < count; ++i) {
    const Prediction& p = images[static_cast<std::size_t>(i)];
    double x = kPad / 2 + double(i % cols) * kCellW, y = kPad + double(i / cols) * cell_h;
    double cx = x + kCellW / 2, iw = double(p.width) * kScale, ih = double(p.height) * kScale;
    bool right = p.truth == p.predicted;
    std::string uri = "data:image/png;base64," + base64(encode_png(p.pixels, p.width, p.height, 1));
    svg += format("<g class=\"prediction\" data-index=\"%lld\">\n", (long long)i);
    svg += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", cx, y + 13,
                  xml_escape(p.truth).c_str());
    svg += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">%s</text>\n", cx,
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
  constexpr std::int64_t kScale = 4, kFont = 2, kCellW = 132, kPad = 8;
  constexpr std::int64_t kLine = kGlyphH * kFont;  // 14
  const std::int64_t count = static_cast<std::int64_t>(images.size());
  const std::int64_t cols = std::max<std::int64_t>(1, std::min(columns, count));
  const std::int64_t rows = (count + cols - 1) / cols;
  const std::int64_t image_h = images.empty() ? 28 * kScale : images[0].height * kScale;
  const std::int64_t cell_h = kPad + kLine + 4 + kLine + 6 + image_h + kPad;
  Canvas canvas(cols * kCellW, rows * cell_h);
  for (std::int64_t i = 0; i < count; ++i) {
    const Prediction& p = images[static_cast<std::size_t>(i)];
    std::int64_t x = (i % cols) * kCellW, y = (i / cols) * cell_h + kPad, cx = x + kCellW / 2;
    bool right = p.truth == p.predicted;
    canvas.text(p.truth, cx, y, kFont, 0, 0, 0);
    if (right)
      canvas.text(p.predicted, cx, y + kLine + 4, kFont, 0, 128, 0);
    else
      canvas.text(p.predicted, cx, y + kLine + 4, kFont, 208, 0, 0);
    std::int64_t ix = cx - p.width * kScale / 2, iy = y + 2 * kLine + 10;
    for (std::int64_t r = 0; r < p.height * kScale; ++r)
      for (std::int64_t c = 0; c < p.width * kScale; ++c) {
        std::uint8_t v = p.pixels[static_cast<std::size_t>((r / kScale) * p.width + c / kScale)];
        canvas.set(ix + c, iy + r, v, v, v);
      }
  }
  return encode_png(canvas.rgb, canvas.width, canvas.height, 3);
}

void write_output_file(const std::string& path, const std::string& bytes) {
  try {
    ember::write_file_atomically(path, std::as_bytes(std::span(bytes)));
  } catch (const ember::Error& e) {
    throw RuntimeError(e.what(), "check that the folder exists, is writable and has free space");
  }
}

}  // namespace app
