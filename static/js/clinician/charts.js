/* The patient's chart: Chart.js with the date adapter and the annotation plugin (from npm).
 * Data comes from the page through json_script (portal/clinician/charts.py: chart_data).
 *
 * Times arrive as Oslo wall-clock time without an offset ("2026-03-01T08:14"); the browser
 * reads such a string as local time, so the axis shows Norwegian time wherever it runs.
 * Tooltip texts (exact value, time) are made on the server in the reader's language. */
(function () {
  "use strict";

  var COLOURS = { value: "#0b5c7a", systolic: "#0b5c7a", diastolic: "#6b3fa0" };
  var OUTSIDE = "#b3261e";
  var AMENDED = "#9a5b00";
  var BAND = "rgba(46, 125, 50, 0.10)";
  var RISK = {
    low: "rgba(46, 125, 50, 0.12)",
    medium: "rgba(237, 161, 0, 0.20)",
    high: "rgba(179, 38, 30, 0.16)"
  };

  function time(text) { return new Date(text).getTime(); }

  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + ", " + ((n >> 8) & 255) + ", " + (n & 255) + ", " + a + ")";
  }

  function rawDataset(set, many) {
    var colour = COLOURS[set.part] || COLOURS.value;
    return {
      label: set.label,
      role: "main",
      data: set.points.map(function (p) { return { x: time(p.x), y: p.y, p: p }; }),
      borderColor: colour,
      backgroundColor: colour,
      borderWidth: 1.5,
      pointRadius: function (ctx) {
        var p = ctx.raw && ctx.raw.p;
        if (p && (p.a || p.o)) return many ? 3 : 4;
        return many ? 1.5 : 3;
      },
      pointStyle: function (ctx) { return ctx.raw && ctx.raw.p.a ? "rectRot" : "circle"; },
      pointBackgroundColor: function (ctx) {
        var p = ctx.raw && ctx.raw.p;
        return p && p.o ? OUTSIDE : p && p.a ? AMENDED : colour;
      },
      pointBorderColor: function (ctx) {
        var p = ctx.raw && ctx.raw.p;
        return p && p.o ? OUTSIDE : p && p.a ? AMENDED : colour;
      },
      pointHoverRadius: 6
    };
  }

  function bucketDatasets(set, labels) {
    var colour = COLOURS[set.part] || COLOURS.value;
    var at = function (key) {
      return set.points.map(function (p) { return { x: time(p.x), y: p[key], p: p }; });
    };
    return [
      { label: set.label + " (" + labels.range + ")", role: "high", data: at("hi"), borderWidth: 0,
        pointRadius: 0, fill: "+1", backgroundColor: alpha(colour, 0.18) },
      { label: "", role: "low", data: at("lo"), borderWidth: 0, pointRadius: 0, fill: false },
      { label: set.label + " (" + labels.mean + ")", role: "main", data: at("y"), borderColor: colour,
        backgroundColor: colour, borderWidth: 2, pointRadius: 0, pointHoverRadius: 5,
        pointStyle: function (ctx) { return ctx.raw && ctx.raw.p.a ? "rectRot" : "circle"; } },
      outsideDataset(set, labels)
    ];
  }

  // A day (or week) with readings outside their range is marked at its highest (above) or
  // lowest (below) value, so a mean inside the band never hides one.
  function outsideDataset(set, labels) {
    var data = [];
    set.points.forEach(function (p) {
      if (p.oa) data.push({ x: time(p.x), y: p.hi, p: p });
      if (p.ob) data.push({ x: time(p.x), y: p.lo, p: p });
    });
    return { label: set.label + " (" + labels.outside.toLowerCase() + ")", role: "outside", data: data,
      showLine: false, borderColor: OUTSIDE, backgroundColor: OUTSIDE, pointRadius: 3.5, pointHoverRadius: 5 };
  }

  function annotations(data) {
    var found = {};
    if (data.news2) {
      found.low = { type: "box", yMin: -0.5, yMax: 4.5, backgroundColor: RISK.low, borderWidth: 0, drawTime: "beforeDatasetsDraw" };
      found.medium = { type: "box", yMin: 4.5, yMax: 6.5, backgroundColor: RISK.medium, borderWidth: 0, drawTime: "beforeDatasetsDraw" };
      found.high = { type: "box", yMin: 6.5, backgroundColor: RISK.high, borderWidth: 0, drawTime: "beforeDatasetsDraw" };
      return found;
    }
    var paired = data.bands.length > 1;
    data.bands.forEach(function (band, i) {
      if (!paired) {
        found["band" + i] = { type: "box", yMin: band.low === null ? undefined : band.low,
          yMax: band.high === null ? undefined : band.high, backgroundColor: BAND, borderWidth: 0,
          drawTime: "beforeDatasetsDraw" };
        return;
      }
      // Two ranges (systolic and diastolic) would run into one band: draw their limits as lines.
      var colour = COLOURS[band.part] || COLOURS.value;
      [band.low, band.high].forEach(function (limit, j) {
        if (limit === null) return;
        found["limit" + i + "_" + j] = { type: "line", yMin: limit, yMax: limit, borderColor: alpha(colour, 0.55),
          borderWidth: 1.5, borderDash: [6, 4], drawTime: "beforeDatasetsDraw" };
      });
    });
    return found;
  }

  // Room above and below both the data and the normal range, so the band's edges show.
  function yLimits(data) {
    if (data.news2) return { min: 0, suggestedMax: 10, ticks: { stepSize: 1 } };
    var values = [];
    data.datasets.forEach(function (set) {
      set.points.forEach(function (p) {
        values.push(p.y);
        if (p.lo !== undefined) values.push(p.lo, p.hi);
      });
    });
    data.bands.forEach(function (b) { [b.low, b.high].forEach(function (v) { if (v !== null) values.push(v); }); });
    if (!values.length) return {};
    var low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    var pad = Math.max((high - low) * 0.08, Math.abs(high) * 0.01, 0.5);
    var limits = { suggestedMin: low - pad, suggestedMax: high + pad };
    if (data.kind === "oxygen_saturation") limits.max = 100;
    return limits;
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var lang = document.documentElement.lang === "en" ? "en-GB" : "nb-NO";
    var total = data.datasets.reduce(function (n, s) { return n + s.points.length; }, 0);
    var datasets = [];
    data.datasets.forEach(function (set) {
      if (data.resolution === "raw") datasets.push(rawDataset(set, total > 150));
      else datasets.push.apply(datasets, bucketDatasets(set, data.labels));
    });
    var y = yLimits(data);
    y.title = { display: true, text: data.yTitle };
    y.grid = { color: "#e6e9ee" };
    var chart = new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        locale: lang,
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: {
            type: "time",
            min: time(data.min),
            max: time(data.max),
            time: {
              // Hour ticks only for short ranges; beyond three days the axis counts days.
              minUnit: time(data.max) - time(data.min) > 3 * 864e5 ? "day" : "hour",
              displayFormats: { minute: "HH:mm", hour: "HH:mm", day: "dd.MM", week: "dd.MM", month: "MM.yyyy", quarter: "MM.yyyy", year: "yyyy" }
            },
            ticks: { maxRotation: 0, autoSkipPadding: 12 },
            grid: { color: "#eef0f3" }
          },
          y: y
        },
        plugins: {
          legend: {
            display: datasets.length > 1,
            labels: {
              filter: function (item, chartData) {
                var set = chartData.datasets[item.datasetIndex];
                return set.role !== "low" && (set.role !== "outside" || set.data.length > 0);
              }
            }
          },
          tooltip: {
            filter: function (item) { return item.dataset.role === "main"; },
            callbacks: {
              title: function (items) { return items.length ? items[0].raw.p.t : ""; },
              label: function (item) {
                var p = item.raw.p;
                var text = item.dataset.label.replace(/ \(.*\)$/, "") + ": " + p.v;
                if (p.a) text += " · " + data.labels.amended;
                if (p.o) text += " · " + data.labels.outside;
                return text;
              },
              // What the municipality's system said about this reading: its assessment, the note, the device.
              afterLabel: function (item) {
                var p = item.raw.p, lines = [];
                if (p.i) lines.push(data.labels.light + ": " + p.i);
                if (p.n) lines.push("«" + p.n + "»");
                if (p.d) lines.push(data.labels.device + ": " + p.d);
                return lines;
              }
            }
          },
          annotation: { annotations: annotations(data) }
        }
      }
    });
    canvas.dataset.drawn = "true";
    window.addEventListener("beforeprint", function () { chart.resize(); });
    window.addEventListener("afterprint", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
