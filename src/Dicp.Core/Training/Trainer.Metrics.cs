using System.Globalization;
using System.Text;
using Dicp.Autograd;
using Dicp.IO;
using Dicp.Tensors;

namespace Dicp.Training;

public sealed partial class Trainer
{
    /// <summary>Averages the pending training metrics, adds test and evaluation metrics, and appends the CSV row.</summary>
    private Dictionary<string, double> WriteRow(RunState state, float lr, bool test, bool inContext, CancellationToken ct)
    {
        var row = new Dictionary<string, double>(StringComparer.Ordinal) { ["step"] = state.Step, ["lr"] = lr };
        var pending = state.Pending;
        if (pending.Count > 0)
            foreach (var (k, v) in pending.Sums) row[k] = v / pending.Count;
        var trainKeys = pending.Sums.Keys.Where(k => k is not ("loss" or "grad_norm")).ToList();
        state.Pending = MetricSums.Empty();
        if (test) foreach (var (k, v) in TestMetrics()) row[k] = v;
        if (inContext)
        {
            _model.Network.Eval();
            try
            {
                foreach (var (k, v) in Evaluation!.Evaluate(_model, state.Step, ct)) row[k] = v;
            }
            finally
            {
                _model.Network.Train();
            }
        }

        var path = Path.Combine(RunDirectory, MetricsFileName);
        var sb = new StringBuilder();
        if (state.Columns is null)
        {
            var columns = new List<string> { "step", "lr", "loss", "grad_norm" };
            columns.AddRange(trainKeys);
            if (_test is not null)
            {
                columns.Add("test_loss");
                columns.AddRange(trainKeys.Select(k => "test_" + k));
            }
            if (Evaluation is not null) columns.AddRange(Evaluation.MetricNames);
            state.Columns = columns;
            sb.Append(string.Join(',', columns)).Append('\n');
        }
        sb.Append(string.Join(',', state.Columns.Select(c => row.TryGetValue(c, out var v) ? Format(v) : ""))).Append('\n');
        File.AppendAllText(path, sb.ToString());
        if (_tensorBoard is { } tb)
        {
            foreach (var (k, v) in row)
                if (k != "step" && double.IsFinite(v)) tb.AddScalar(k, (float)v, state.Step);
            tb.Flush();
        }
        return row;
    }

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The loss and metrics of the model on the fixed test windows (evaluation mode, no gradients), averaged over windows.</summary>
    private Dictionary<string, double> TestMetrics()
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var n = 0;
        _model.Network.Eval();
        try
        {
            using var noGrad = GradMode.NoGrad();
            foreach (var batch in _test!.Batches())
            {
                using var scope = TensorScope.Begin();
                var loss = _model.Loss(batch);
                var w = batch.BatchSize;
                Add(sums, "test_loss", (double)loss.Total.Item() * w);
                foreach (var (k, v) in loss.Metrics)
                    if (k is not ("loss" or "grad_norm")) Add(sums, "test_" + k, v * w); // "loss" is test_loss already
                n += w;
            }
        }
        finally
        {
            _model.Network.Train();
        }
        foreach (var k in sums.Keys.ToList()) sums[k] /= n;
        return sums;
    }

    /// <summary>Keeps the header and the rows up to <paramref name="step"/> (rows written after the checkpoint are redone).</summary>
    private static void TrimMetrics(string path, int step)
    {
        if (!File.Exists(path)) return;
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) return;
        var kept = new List<string> { lines[0] };
        foreach (var line in lines.Skip(1))
        {
            var first = line.Split(',', 2)[0];
            if (double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s <= step) kept.Add(line);
        }
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(l => l + "\n")));
    }
}
