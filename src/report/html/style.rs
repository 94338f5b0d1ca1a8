//! The HTML report's stylesheet (`{BAR}` and the like are filled in with
//! the chart colours when the page is written).

pub const CSS: &str = "
:root{--ink:#1f2933;--muted:#616e7c;--line:#dde2e8;--bg:#f5f7fa;--warn:#b45309}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
header{background:#1f2933;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:21px;font-weight:600}
header p{margin:4px 0 0;color:#cbd2d9;font-size:13px}
main{max-width:1200px;margin:0 auto;padding:24px 32px 48px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 22px;margin:0 0 20px}
h2{margin:0 0 12px;font-size:16px;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;background:#fafbfc}
.card .n{font-size:28px;font-weight:650;font-variant-numeric:tabular-nums}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card.warn .n{color:var(--warn)}
table{border-collapse:collapse;width:100%;font-size:13px;margin-top:8px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:12px;background:#fafbfc}
.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;background:#f1f3f5;padding:1px 4px;border-radius:3px}
.none,.muted{color:var(--muted)}
.none{font-style:italic}
.warn-text{color:var(--warn);font-weight:600}
.tag{display:inline-block;padding:0 6px;border-radius:9px;background:#eef2ff;color:#3730a3;font-size:11px;margin:0 3px 2px 0}
.chart{overflow-x:auto}
svg{display:block}
svg text{font-size:12px;fill:var(--ink)}
svg text.light{fill:#fff}
svg text.warn{fill:var(--warn);font-weight:600}
svg .axis{stroke:#c3cad3;stroke-width:1}
.bar{fill:{BAR}}
.bar.unowned{fill:{UNOWNED_BAR}}
.age-bar{fill:{AGE_BAR}}
.cell{stroke:#fff;stroke-width:2}
details{margin:4px 0 4px 0}
details details{margin-left:18px}
summary{cursor:pointer;padding:4px 0}
summary .count{color:var(--muted);font-variant-numeric:tabular-nums}
";
