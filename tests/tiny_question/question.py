
QUESTIONS += (Q("2.Q12", "2.3", "", "How bright are the validation images?", ("image_brightness",),
                (("mean level", "image_brightness.mean_level"),)),)
