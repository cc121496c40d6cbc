"""A starting list of equivalent spellings for search: the region's countries,
capitals, cities and leaders, as French and English writing give them."""

from django.db import migrations

GROUPS = [
    ("Kirghizistan, Kirghizstan, Kyrgyzstan, Kirghizie", "pays"),
    ("Kazakhstan, Qazaqstan", "pays"),
    ("Ouzbékistan, Uzbekistan, Ozbekistan", "pays"),
    ("Tadjikistan, Tajikistan", "pays"),
    ("Turkménistan, Turkmenistan", "pays"),
    ("Kirghiz, Kyrgyz", "nationalité"),
    ("Ouzbek, Uzbek", "nationalité"),
    ("Tadjik, Tajik", "nationalité"),
    ("Turkmène, Turkmen", "nationalité"),
    ("Bichkek, Bishkek", "capitale"),
    ("Tachkent, Tashkent, Toshkent", "capitale"),
    ("Douchanbé, Dushanbe, Douchanbe", "capitale"),
    ("Achgabat, Ashgabat, Achkhabad, Ashkhabad", "capitale"),
    ("Samarcande, Samarkand", "ville"),
    ("Boukhara, Bukhara, Buxoro", "ville"),
    ("Och, Osh", "ville"),
    ("Ferghana, Fergana", "région"),
    ("Karakalpakstan, Qaraqalpaqstan", "région"),
    ("Tokaïev, Tokaev, Tokayev", "président du Kazakhstan"),
    ("Nazarbaïev, Nazarbaev, Nazarbayev", "ancien président du Kazakhstan"),
    ("Japarov, Djaparov, Zhaparov", "président du Kirghizistan"),
    ("Mirziyoyev, Mirzioïev, Mirziyoev, Mirzioev", "président de l’Ouzbékistan"),
    ("Rahmon, Rakhmon, Rahmonov, Rakhmonov", "président du Tadjikistan"),
    (
        "Berdimuhamedov, Berdymoukhamedov, Berdimoukhamedov, Berdymukhamedov",
        "dirigeants du Turkménistan",
    ),
]


def add_groups(apps, schema_editor):
    Group = apps.get_model("articles", "SpellingVariantGroup")
    for spellings, note in GROUPS:
        Group.objects.get_or_create(spellings=spellings, defaults={"note": note})


def remove_groups(apps, schema_editor):
    Group = apps.get_model("articles", "SpellingVariantGroup")
    Group.objects.filter(spellings__in=[spellings for spellings, _ in GROUPS]).delete()


class Migration(migrations.Migration):
    dependencies = [("articles", "0004_reader_site")]

    operations = [migrations.RunPython(add_groups, remove_groups)]
