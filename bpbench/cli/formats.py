"""--format for commands that print tables: text for people; csv, json and md for programs
and documents. csv and json load straight back with pandas.read_csv / pandas.read_json (JSON
has no infinity: an infinite median, never converged, is written as null)."""
import click

FORMATS = ("text", "csv", "json", "md")


def format_option(f):
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
                        show_default=True,
                        help="text for reading; csv, json (records) or md (Markdown) print "
                             "one table for programs and documents")(f)


def emit(df, fmt, index=False, float_format="{:.4g}"):
    """Print one table in the chosen format."""
    if fmt == "csv":
        click.echo(df.to_csv(index=index), nl=False)
    elif fmt == "json":
        click.echo(df.reset_index().to_json(orient="records") if index
                   else df.to_json(orient="records", index=False))
    elif fmt == "md":
        click.echo(df.to_markdown(index=index, floatfmt=float_format.strip("{:}")))
    else:
        click.echo(df.to_string(index=index, float_format=float_format.format))
