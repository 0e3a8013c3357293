package io.sparkdiffusion.quality;

import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The class names of an image classifier, each with aliases, and the one rule that finds a picture's expected label
 * in its prompt. Read from the classifier folder's {@code labels.txt} (line i is class i: its label, then optional
 * aliases, comma-separated, e.g. {@code 7, seven}; the convention of ImageNet's class lists) or, without one, from
 * {@code config.json}'s {@code id2label} (what transformers and Optimum write for image-classification models, with
 * the same comma convention inside a name). Immutable.
 */
public final class Labels {
    public static final String FILE = "labels.txt";

    private final List<List<String>> names;
    /** Per class, per alias: the alias as a whole word or phrase, case-insensitive. */
    private final List<List<Pattern>> patterns;

    private Labels(List<List<String>> names) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("a classifier needs at least one label");
        }
        List<List<String>> n = new ArrayList<>();
        List<List<Pattern>> p = new ArrayList<>();
        for (List<String> aliases : names) {
            if (aliases.isEmpty() || aliases.get(0).isBlank()) {
                throw new IllegalArgumentException("label " + n.size() + " is empty");
            }
            n.add(List.copyOf(aliases));
            List<Pattern> ps = new ArrayList<>();
            for (String a : aliases) {
                ps.add(Pattern.compile(
                        "(?<![\\p{L}\\p{N}])" + Pattern.quote(a) + "(?![\\p{L}\\p{N}])",
                        Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE));
            }
            p.add(List.copyOf(ps));
        }
        this.names = List.copyOf(n);
        this.patterns = List.copyOf(p);
    }

    /** Classes given as lists of names: the label first, then its aliases. */
    public static Labels of(List<List<String>> names) {
        return new Labels(names);
    }

    /** {@code folder/labels.txt}, else {@code folder/config.json}'s {@code id2label}. */
    public static Labels read(Path folder) {
        Path txt = folder.resolve(FILE);
        try {
            if (Files.isRegularFile(txt)) {
                List<List<String>> names = new ArrayList<>();
                for (String line : Files.readAllLines(txt, StandardCharsets.UTF_8)) {
                    if (!line.isBlank()) {
                        names.add(split(line));
                    }
                }
                return new Labels(names);
            }
            Path config = folder.resolve("config.json");
            JsonConfig id2label =
                    Files.isRegularFile(config) ? JsonConfig.read(config).getObject("id2label") : null;
            if (id2label == null) {
                throw new ModelLoadException(
                        "classifier folder " + folder + " has neither " + FILE + " nor a config.json with id2label");
            }
            TreeMap<Integer, List<String>> byId = new TreeMap<>();
            for (Iterator<String> it = id2label.keys(); it.hasNext(); ) {
                String id = it.next();
                byId.put(Integer.parseInt(id), split(id2label.getString(id, "")));
            }
            if (byId.firstKey() != 0 || byId.lastKey() != byId.size() - 1) {
                throw new ModelLoadException(config + ": id2label must number the classes 0.." + (byId.size() - 1));
            }
            return new Labels(new ArrayList<>(byId.values()));
        } catch (IOException e) {
            throw new ModelLoadException("cannot read the labels of " + folder + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException("labels of " + folder + ": " + e.getMessage(), e);
        }
    }

    private static List<String> split(String line) {
        List<String> out = new ArrayList<>();
        for (String part : line.split(",", -1)) {
            if (!part.isBlank()) {
                out.add(part.strip());
            }
        }
        return out;
    }

    public int size() {
        return names.size();
    }

    /** The label of class {@code index} (its first name). */
    public String label(int index) {
        return names.get(index).get(0);
    }

    /** The label and the aliases of class {@code index}. */
    public List<String> names(int index) {
        return names.get(index);
    }

    /**
     * The label a prompt asks for: the class with an alias that occurs earliest in the prompt as a whole word or
     * phrase, ignoring case (the longer alias where two start at the same place); empty when none occurs.
     * "a handwritten digit seven" is "7" for the digits' {@code 7, seven}.
     */
    public Optional<String> find(String prompt) {
        if (prompt == null) {
            return Optional.empty();
        }
        int bestClass = -1;
        int bestStart = Integer.MAX_VALUE;
        int bestLength = 0;
        for (int c = 0; c < names.size(); c++) {
            for (Pattern p : patterns.get(c)) {
                Matcher m = p.matcher(prompt);
                if (m.find()
                        && (m.start() < bestStart || (m.start() == bestStart && m.end() - m.start() > bestLength))) {
                    bestClass = c;
                    bestStart = m.start();
                    bestLength = m.end() - m.start();
                }
            }
        }
        return bestClass < 0 ? Optional.empty() : Optional.of(label(bestClass));
    }

    /** Whether {@code expected} names class {@code index}: its label or one of its aliases, ignoring case. */
    public boolean matches(int index, String expected) {
        String e = expected.strip().toLowerCase(Locale.ROOT);
        for (String name : names.get(index)) {
            if (name.toLowerCase(Locale.ROOT).equals(e)) {
                return true;
            }
        }
        return false;
    }
}
