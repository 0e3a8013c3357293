package io.sparkdiffusion.jobs;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Where the pictures go ({@code output_format}): {@code files}, one PNG (or video) per row under {@code images/}
 * ({@code videos/}); {@code parquet}, inside a Parquet table ({@link ParquetDataset}); {@code webdataset}, in tar
 * shards ({@link WebDatasetShards}). Every format also writes the {@code metadata/} and {@code errors/} tables and
 * the contact sheet.
 */
enum OutputFormat {
    FILES("files"),
    PARQUET("parquet"),
    WEBDATASET("webdataset");

    private final String id;

    OutputFormat(String id) {
        this.id = id;
    }

    String id() {
        return id;
    }

    /** Whether the tasks commit each picture inside its record fragment (the dataset is built when publishing). */
    boolean mediaInRecords() {
        return this != FILES;
    }

    static OutputFormat fromName(String name) {
        for (OutputFormat f : values()) {
            if (f.id.equals(name.trim().toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown output format '" + name + "'; expected one of " + names());
    }

    static String names() {
        return Arrays.stream(values()).map(OutputFormat::id).collect(Collectors.joining(", "));
    }
}
