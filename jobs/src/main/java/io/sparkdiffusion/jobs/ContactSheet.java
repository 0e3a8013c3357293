package io.sparkdiffusion.jobs;

import java.util.List;
import java.util.Map;

/**
 * {@code index.html}: the job's summary and thumbnails of up to {@code contact_sheet.max_images} images with their
 * prompt, seed and parameters. Images are referenced relative to the page, so the folder can be browsed where it
 * lies (local disk, HDFS web UI download, an S3 static site or a copy).
 */
final class ContactSheet {
    /** One picture of the sheet. */
    record Entry(
            String id,
            String imageSrc,
            String inputThumb,
            String maskThumb,
            String notes,
            String video,
            String prompt,
            String negativePrompt,
            long seed,
            int steps,
            double guidance,
            String scheduler,
            int width,
            int height,
            long generationMs) {}

    private ContactSheet() {}

    static String render(String title, Map<String, String> summary, List<Entry> entries, long totalImages) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>")
                .append(esc(title))
                .append("</title>\n<style>\n")
                .append("body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}\n")
                .append("table.summary{border-collapse:collapse;margin-bottom:1.5em}\n")
                .append("table.summary td{padding:2px 12px 2px 0;vertical-align:top}\n")
                .append("table.summary td:first-child{font-weight:600}\n")
                .append(".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px}\n")
                .append(".card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px;font-size:12px}\n")
                .append(
                        ".card img{width:100%;aspect-ratio:1/1;object-fit:contain;image-rendering:pixelated;background:#000}\n")
                .append(".prompt{font-weight:600;margin:4px 0}.neg{color:#a33}.params{color:#666}\n")
                .append(".row{display:flex;gap:4px}.row img{width:33%}.row a{width:33%}.row a img{width:100%}\n")
                .append("</style></head><body>\n<h1>")
                .append(esc(title))
                .append("</h1>\n<table class=\"summary\">\n");
        summary.forEach((k, v) -> h.append("<tr><td>")
                .append(esc(k))
                .append("</td><td>")
                .append(esc(v))
                .append("</td></tr>\n"));
        h.append("</table>\n");
        if (entries.size() < totalImages) {
            h.append("<p>Showing ")
                    .append(entries.size())
                    .append(" of ")
                    .append(totalImages)
                    .append(" images (ordered by id); the metadata table lists all of them.</p>\n");
        }
        h.append("<div class=\"grid\">\n");
        for (Entry e : entries) {
            String src = e.imageSrc();
            String link = e.video() != null ? e.video() : src;
            h.append("<div class=\"card\">");
            if (e.inputThumb() != null) {
                // input, mask and output side by side
                h.append("<div class=\"row\"><img loading=\"lazy\" title=\"input\" src=\"")
                        .append(esc(e.inputThumb()))
                        .append("\" alt=\"input\">");
                if (e.maskThumb() != null) {
                    h.append("<img loading=\"lazy\" title=\"mask\" src=\"")
                            .append(esc(e.maskThumb()))
                            .append("\" alt=\"mask\">");
                }
                h.append("<a href=\"")
                        .append(esc(link))
                        .append("\"><img loading=\"lazy\" title=\"output\" src=\"")
                        .append(esc(src))
                        .append("\" alt=\"")
                        .append(esc(e.id()))
                        .append("\"></a></div>\n");
            } else {
                h.append("<a href=\"")
                        .append(esc(link))
                        .append("\"><img loading=\"lazy\" src=\"")
                        .append(esc(src))
                        .append("\" alt=\"")
                        .append(esc(e.id()))
                        .append("\"></a>\n");
                if (e.video() != null) {
                    h.append("<div><a href=\"").append(esc(e.video())).append("\">&#9654; video</a></div>\n");
                }
            }
            h.append("").append("<div><code>").append(esc(e.id())).append("</code></div>\n");
            if (e.prompt() != null) {
                h.append("<div class=\"prompt\">").append(esc(e.prompt())).append("</div>\n");
            }
            if (e.negativePrompt() != null) {
                h.append("<div class=\"neg\">not: ")
                        .append(esc(e.negativePrompt()))
                        .append("</div>\n");
            }
            if (e.notes() != null) {
                h.append("<div class=\"neg\">").append(esc(e.notes())).append("</div>\n");
            }
            h.append("<div class=\"params\">seed ")
                    .append(e.seed())
                    .append(" &middot; ")
                    .append(e.steps())
                    .append(" steps &middot; guidance ")
                    .append(RowRules.formatGuidance(e.guidance()))
                    .append("<br>")
                    .append(esc(e.scheduler()))
                    .append(" &middot; ")
                    .append(e.width())
                    .append("&times;")
                    .append(e.height())
                    .append(" &middot; ")
                    .append(e.generationMs())
                    .append(" ms</div></div>\n");
        }
        h.append("</div>\n</body></html>\n");
        return h.toString();
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
