package io.sparkdiffusion.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.sparkdiffusion.util.JsonConfig;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * Prompt templates for synthetic datasets ({@code templates.prompt}, {@code templates.slots.*}): a template such as
 * {@code "a photo of a {object} in {style}"} whose slots are filled from lists in the configuration or, for a slot
 * without a list, from the input row's column of that name. Each input row becomes one row per combination of the
 * listed values (the first listed slot varies slowest), each planned by {@link RowRules} as if it were an input row:
 *
 * <ul>
 *   <li>id: the row's id, then {@code -} and one readable key per listed slot ({@code cat-watercolor}; a key is the
 *       value with every run of characters other than {@code A-Z a-z 0-9} made {@code _}, at most 40 characters,
 *       and the value's position added when two values of a slot would share a key). Without an input the id is
 *       the keys alone. Ids stay file names ({@link RowRules#fileKey}) and are unique per row by construction.
 *   <li>seed: the row's {@code seed} column when it has one (the same noise for every combination: comparable
 *       pictures), else derived from the combination's id as for any row (stable when lists grow or are reordered).
 *   <li>metadata: the values of every slot, as a JSON object in the planned row ({@code template_slots}).
 *   <li>rejection: a row is rejected once, with its own id, when its first combination is (every check but the
 *       prompt's is the same for all of them), not once per combination.
 * </ul>
 *
 * <p>Without an input table ({@link #standalone}) the job's input is one row per combination, made by
 * {@link #combinationId} and carrying its index in {@link #INDEX_COLUMN}, so that the combinations are spread over
 * the cluster and counted as input rows.
 */
final class PromptTemplates implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The column of a standalone input row that names its combination. */
    static final String INDEX_COLUMN = "__template_index";

    static final String PROMPT_KEY = "templates.prompt";
    static final String SLOTS_PREFIX = "templates.slots.";
    private static final int KEY_LENGTH = 40;
    /** No template: rows are planned as they are. */
    static final PromptTemplates NONE = new PromptTemplates(null, List.of(), Map.of(), false);

    /** The template as literal text and slot names, alternately: parts[0] text, parts[1] slot, ... */
    private final List<String> parts;

    /** Listed slots in template order, with their values and their keys in ids. */
    private final Map<String, List<String>> lists;

    private final Map<String, List<String>> keys;
    /** Slots filled from input columns, in template order. */
    private final List<String> columnSlots;

    private final List<String> slots;
    private final boolean standalone;
    private final long combinations;

    private PromptTemplates(
            List<String> parts, List<String> slots, Map<String, List<String>> lists, boolean standalone) {
        this.parts = parts;
        this.slots = slots;
        this.lists = lists;
        this.standalone = standalone;
        this.keys = new LinkedHashMap<>();
        lists.forEach((slot, values) -> keys.put(slot, keys(values)));
        this.columnSlots = slots.stream().filter(s -> !lists.containsKey(s)).toList();
        long n = 1;
        for (List<String> values : lists.values()) {
            try {
                n = Math.multiplyExact(n, values.size());
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(SLOTS_PREFIX + "*: the lists make more than 2^63 combinations");
            }
        }
        this.combinations = n;
    }

    /**
     * The templates of a configuration: {@code template} null means none (then no slot list may be set).
     *
     * @param lists each slot's values ({@code templates.slots.<slot>}), in any order
     * @param standalone whether the job has no input table (every slot then needs a list)
     */
    static PromptTemplates of(String template, Map<String, List<String>> lists, boolean standalone) {
        if (template == null) {
            if (!lists.isEmpty()) {
                throw new IllegalArgumentException(
                        SLOTS_PREFIX + lists.keySet().iterator().next() + " is set but " + PROMPT_KEY + " is not");
            }
            return NONE;
        }
        List<String> parts = parse(template);
        Set<String> names = new LinkedHashSet<>();
        for (int i = 1; i < parts.size(); i += 2) {
            names.add(parts.get(i));
        }
        for (Map.Entry<String, List<String>> e : lists.entrySet()) {
            if (!names.contains(e.getKey())) {
                throw new IllegalArgumentException(SLOTS_PREFIX + e.getKey() + " is not a slot of " + PROMPT_KEY
                        + " (its slots: " + String.join(", ", names) + ")");
            }
            if (e.getValue().isEmpty()) {
                throw new IllegalArgumentException(SLOTS_PREFIX + e.getKey() + " is an empty list");
            }
        }
        Map<String, List<String>> ordered = new LinkedHashMap<>();
        for (String name : names) {
            if (lists.containsKey(name)) {
                ordered.put(name, List.copyOf(lists.get(name)));
            } else if (standalone) {
                throw new IllegalArgumentException("slot {" + name + "} of " + PROMPT_KEY + " has no list ("
                        + SLOTS_PREFIX + name + ") and the job has no input table to take it from");
            }
        }
        if (standalone && ordered.isEmpty()) {
            throw new IllegalArgumentException(PROMPT_KEY + " without an input needs at least one slot with a list ("
                    + SLOTS_PREFIX + "<slot>), e.g. \"a photo of a {object}\" with " + SLOTS_PREFIX
                    + "object: [cat, dog]");
        }
        return new PromptTemplates(parts, List.copyOf(names), ordered, standalone);
    }

    /** Literal text and slot names alternately; a doubled brace is a literal brace. */
    static List<String> parse(String template) {
        List<String> parts = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        int i = 0;
        while (i < template.length()) {
            char c = template.charAt(i);
            boolean doubled = i + 1 < template.length() && template.charAt(i + 1) == c;
            if ((c == '{' || c == '}') && doubled) {
                text.append(c);
                i += 2;
            } else if (c == '{') {
                int end = template.indexOf('}', i);
                String name = end < 0 ? "" : template.substring(i + 1, end);
                if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw new IllegalArgumentException(PROMPT_KEY + " '" + template + "': '{' at position " + i
                            + " does not start a slot such as {object} (write {{ for a literal brace)");
                }
                parts.add(text.toString());
                parts.add(name);
                text.setLength(0);
                i = end + 1;
            } else if (c == '}') {
                throw new IllegalArgumentException(PROMPT_KEY + " '" + template + "': '}' at position " + i
                        + " closes no slot (write }} for a literal brace)");
            } else {
                text.append(c);
                i++;
            }
        }
        parts.add(text.toString());
        return parts;
    }

    boolean enabled() {
        return parts != null;
    }

    boolean standalone() {
        return standalone;
    }

    /** The number of combinations of the listed values (1 when no slot has a list). */
    long combinations() {
        return combinations;
    }

    /** Input columns the expansion reads besides the job's own ({@code GenerateJob.INPUT_FIELDS}). */
    List<String> inputColumns() {
        if (!enabled()) {
            return List.of();
        }
        List<String> out = new ArrayList<>(columnSlots);
        out.add(INDEX_COLUMN);
        return out;
    }

    /** Refuses, before planning, a slot that has no list and no input column to fill it. */
    void checkColumns(String[] inputColumns) {
        Set<String> present = new HashSet<>();
        for (String c : inputColumns) {
            present.add(c.toLowerCase(Locale.ROOT));
        }
        for (String slot : columnSlots) {
            if (!present.contains(slot.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("slot {" + slot + "} of " + PROMPT_KEY + " has no list ("
                        + SLOTS_PREFIX + slot + ") and the input has no column '" + slot + "' (its columns: "
                        + String.join(", ", inputColumns) + ")");
            }
        }
    }

    /** The id of a standalone row: the keys of its combination's values. */
    String combinationId(long index) {
        return String.join("-", combination(index, keys).values());
    }

    /** The listed slots' values (or keys) of combination {@code index}: mixed radix, the first slot slowest. */
    private Map<String, String> combination(long index, Map<String, List<String>> of) {
        List<String> names = new ArrayList<>(of.keySet());
        String[] chosen = new String[names.size()];
        long rest = index;
        for (int s = names.size() - 1; s >= 0; s--) {
            List<String> values = of.get(names.get(s));
            chosen[s] = values.get((int) (rest % values.size()));
            rest /= values.size();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (int s = 0; s < names.size(); s++) {
            out.put(names.get(s), chosen[s]);
        }
        return out;
    }

    /**
     * Plans one input row: with no template, as {@link RowRules#plan} does; with one, every combination (a
     * standalone row: its own), each planned by {@code rules} with the filled prompt and the combination's id.
     * Combinations are made as the stream is read, so a row with many of them does not sit in memory at once.
     */
    Stream<PlannedRow> plan(RowRules rules, Function<String, String> field, long idCount, String rawRow) {
        if (!enabled()) {
            return rules.plan(field, idCount, rawRow).stream();
        }
        String rowId = field.apply("id");
        Map<String, String> fromColumns = new LinkedHashMap<>();
        for (String slot : columnSlots) {
            String v = field.apply(slot);
            if (v == null) {
                return Stream.of(PlannedRow.rejected(
                        rowId,
                        slot,
                        "slot {" + slot + "} of " + PROMPT_KEY + " has no value: the row's '" + slot
                                + "' column is null",
                        rawRow));
            }
            fromColumns.put(slot, v);
        }
        String index = standalone ? field.apply(INDEX_COLUMN) : null;
        boolean suffixed = index == null && rowId != null && !rowId.isBlank() && !lists.isEmpty();
        long firstIndex = index != null ? Long.parseLong(index) : 0;
        List<PlannedRow> first =
                planCombination(rules, field, idCount, rawRow, rowId, suffixed, fromColumns, firstIndex);
        for (PlannedRow p : first) {
            if (!p.isAccepted()) {
                // the checks do not depend on the combination: the row is rejected once, under its own id
                p.setId(rowId);
                p.setInputId(rowId);
                return Stream.of(p);
            }
        }
        if (index != null) {
            return first.stream();
        }
        return Stream.concat(
                first.stream(),
                LongStream.range(1, combinations)
                        .boxed()
                        .flatMap(i ->
                                planCombination(rules, field, idCount, rawRow, rowId, suffixed, fromColumns, i)
                                        .stream()));
    }

    private List<PlannedRow> planCombination(
            RowRules rules,
            Function<String, String> field,
            long idCount,
            String rawRow,
            String rowId,
            boolean suffixed,
            Map<String, String> fromColumns,
            long index) {
        Map<String, String> listed = combination(index, lists);
        String id = suffixed ? rowId + "-" + combinationId(index) : rowId;
        Map<String, String> values = new LinkedHashMap<>();
        for (String slot : slots) {
            values.put(slot, listed.containsKey(slot) ? listed.get(slot) : fromColumns.get(slot));
        }
        StringBuilder prompt = new StringBuilder();
        for (int i = 0; i < parts.size(); i++) {
            prompt.append(i % 2 == 0 ? parts.get(i) : values.get(parts.get(i)));
        }
        String filledPrompt = prompt.toString();
        Function<String, String> filled = name -> switch (name) {
            case "id" -> id;
            case "prompt" -> filledPrompt;
            default -> field.apply(name);
        };
        List<PlannedRow> planned = rules.plan(filled, idCount, rawRow);
        String slotsJson = json(values);
        for (PlannedRow p : planned) {
            if (p.isAccepted()) {
                p.setInputId(rowId);
                p.setTemplateSlots(slotsJson);
            }
        }
        return planned;
    }

    /** Keys of a slot's values in ids: readable, and distinct within the slot. */
    static List<String> keys(List<String> values) {
        List<String> out = new ArrayList<>();
        for (String v : values) {
            String k = v.replaceAll("[^A-Za-z0-9]+", "_").replaceAll("^_+|_+$", "");
            k = k.length() > KEY_LENGTH ? k.substring(0, KEY_LENGTH) : k;
            out.add(k.isEmpty() ? "_" : k);
        }
        if (new HashSet<>(out).size() < out.size()) {
            for (int i = 0; i < out.size(); i++) {
                out.set(i, out.get(i) + "_" + i);
            }
        }
        return out;
    }

    private static String json(Map<String, String> values) {
        try {
            return JsonConfig.mapper().writeValueAsString(values);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
